#!/usr/bin/env bash
# Deploy the application's compose stack on this host (run by SSM AWS-RunShellScript).
#
#   compose-deploy.sh --app-dir DIR --secret-id ID [--compose-file FILE] [--bundle TGZ]
#                     [--ecr-registry HOST | --registry HOST --registry-secret ID]
#                     [--health-url URL] [--health-host HOST] [--health-expect TEXT]
#                     [--health-tries N]
#
# --bundle unpacks the compose file and the Traefik routes (traefik/dynamic/) of the
# deployed commit into DIR, replacing the routes there. DIR/.env (mode 600) is written from
# the Secrets Manager secret ID (a JSON object of KEY: value); --ecr-registry logs docker in
# to ECR, --registry with --registry-secret (JSON {username, password}) to another registry
# (password on stdin, into a throw-away DOCKER_CONFIG); then the stack is pulled and
# started, and health is checked. .env and the docker login are removed on every outcome:
# secrets live on disk only while compose reads them.
#
# Health: URL must answer 200 itself (no redirect is followed: Traefik's 301 from port 80
# is a failure) with TEXT in its body, which says the backend answered, not Traefik's 404
# or the frontend's catch-all page. --health-host (default: APP_DOMAIN from the secret) is
# the name requested, resolved to URL's address.
set -euo pipefail

app_dir=""
secret_id=""
compose_file="docker-compose.yml"
bundle=""
ecr_registry=""
registry=""
registry_secret=""
health_url=""
health_host=""
health_expect=""
health_tries=30
health_delay="${MAESTRO_HEALTH_DELAY:-2}"

usage() {
  echo "usage: $0 --app-dir DIR --secret-id ID [--compose-file FILE] [--bundle TGZ]" \
    "[--ecr-registry HOST | --registry HOST --registry-secret ID] [--health-url URL]" \
    "[--health-host HOST] [--health-expect TEXT] [--health-tries N]" >&2
  exit 64
}

while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --app-dir) app_dir="$2" ;;
    --secret-id) secret_id="$2" ;;
    --compose-file) compose_file="$2" ;;
    --bundle) bundle="$2" ;;
    --ecr-registry) ecr_registry="$2" ;;
    --registry) registry="$2" ;;
    --registry-secret) registry_secret="$2" ;;
    --health-url) health_url="$2" ;;
    --health-host) health_host="$2" ;;
    --health-expect) health_expect="$2" ;;
    --health-tries) health_tries="$2" ;;
    *) usage ;;
  esac
  shift 2
done
if [ -z "$app_dir" ] || [ -z "$secret_id" ]; then usage; fi
if [ -z "$registry" ] && [ -n "$registry_secret" ]; then usage; fi
if [ -n "$registry" ] && [ -z "$registry_secret" ]; then usage; fi

env_file="$app_dir/.env"
scratch="$(mktemp -d)"

cleanup() {
  rm -f "$env_file"
  rm -rf "$scratch"
}
trap cleanup EXIT
# A cancelled command (SIGTERM from SSM) still runs the EXIT trap.
trap 'exit 143' TERM INT

unpack_bundle() {
  [ -n "$bundle" ] || return 0
  install -d -m 0755 "$app_dir"
  # The routes of the deployed commit replace the old ones: a removed route file goes away.
  rm -rf "$app_dir/traefik/dynamic"
  tar -xzf "$bundle" -C "$app_dir" --no-same-owner --no-same-permissions
}

# Turn the secret's JSON object into KEY=value lines; values are written verbatim.
secret_to_env() {
  python3 -c 'import json, sys
for key, value in json.load(sys.stdin).items():
    print(f"{key}={value}")'
}

write_env() {
  umask 077
  : >"$env_file"
  chmod 600 "$env_file"
  aws secretsmanager get-secret-value --secret-id "$secret_id" \
    --query SecretString --output text | secret_to_env >"$env_file"
}

registry_login() {
  [ -n "$ecr_registry$registry" ] || return 0
  # The login lives in this deploy's scratch folder, removed with it.
  export DOCKER_CONFIG="$scratch/docker"
  install -d -m 0700 "$DOCKER_CONFIG"
  if [ -n "$ecr_registry" ]; then
    local region="${ecr_registry#*.dkr.ecr.}"
    region="${region%%.amazonaws.com*}"
    aws ecr get-login-password --region "$region" |
      docker login --username AWS --password-stdin "$ecr_registry"
  fi
  if [ -n "$registry" ]; then
    local login
    login="$(aws secretsmanager get-secret-value --secret-id "$registry_secret" \
      --query SecretString --output text | python3 -c 'import json, sys
secret = json.load(sys.stdin)
print(secret["username"]); print(secret["password"])')"
    # The user on the first line; the password, the rest, only on docker's stdin (printf
    # is a builtin: no argv shows it).
    printf '%s\n' "${login#*$'\n'}" |
      docker login --username "${login%%$'\n'*}" --password-stdin "$registry"
  fi
}

health_check() {
  [ -n "$health_url" ] || return 0
  local host="$health_host" url="$health_url" curl_args=(-sS --max-time 5 --proto "=http,https")
  [ -n "$host" ] || host="$(sed -n 's/^APP_DOMAIN=//p' "$env_file" | head -n 1)"
  if [ -n "$host" ]; then
    if [[ ! "$health_url" =~ ^(https?)://([^/:]+)(:([0-9]+))?(/.*)?$ ]]; then
      echo "--health-url is not http(s)://ADDRESS[:PORT]/PATH: $health_url" >&2
      return 1
    fi
    local scheme="${BASH_REMATCH[1]}" address="${BASH_REMATCH[2]}" port="${BASH_REMATCH[4]}"
    local path="${BASH_REMATCH[5]}"
    [ -n "$port" ] || { [ "$scheme" = https ] && port=443 || port=80; }
    curl_args+=(--resolve "$host:$port:$address")
    url="$scheme://$host:$port$path"
    # On loopback the check is whether the app answers, not the certificate: the first
    # deploy has none until Let's Encrypt issues it.
    case "$address" in 127.0.0.1 | localhost) curl_args+=(--insecure) ;; esac
  fi
  local try code=""
  for try in $(seq 1 "$health_tries"); do
    code="$(curl "${curl_args[@]}" -o "$scratch/health" -w '%{http_code}' "$url" || true)"
    if [ "$code" = 200 ] && { [ -z "$health_expect" ] || grep -qF -- "$health_expect" "$scratch/health"; }; then
      echo "healthy after $try tries"
      return 0
    fi
    sleep "$health_delay"
  done
  echo "not healthy after $health_tries tries: $url answered ${code:-nothing}" \
    "${health_expect:+(wanted 200 with $health_expect)}" >&2
  return 1
}

unpack_bundle
cd "$app_dir"
write_env
registry_login
docker compose -f "$compose_file" --env-file "$env_file" pull
docker compose -f "$compose_file" --env-file "$env_file" up -d --remove-orphans
health_check
