#!/usr/bin/env bash
# Deploy the application's compose stack on this host (run by SSM AWS-RunShellScript).
#
#   compose-deploy.sh --app-dir DIR --secret-id ID [--compose-file FILE]
#                     [--health-url URL] [--health-host HOST] [--health-tries N]
#
# Writes DIR/.env (mode 600) from the Secrets Manager secret ID (a JSON object of
# KEY: value), pulls and starts the stack, checks health through Traefik, and
# removes .env on every outcome: the secrets live on disk only while compose reads them.
set -euo pipefail

app_dir=""
secret_id=""
compose_file="docker-compose.yml"
health_url=""
health_host=""
health_tries=30
health_delay="${MAESTRO_HEALTH_DELAY:-2}"

usage() {
  echo "usage: $0 --app-dir DIR --secret-id ID [--compose-file FILE]" \
    "[--health-url URL] [--health-host HOST] [--health-tries N]" >&2
  exit 64
}

while [ $# -gt 0 ]; do
  case "$1" in
    --app-dir) app_dir="$2"; shift 2 ;;
    --secret-id) secret_id="$2"; shift 2 ;;
    --compose-file) compose_file="$2"; shift 2 ;;
    --health-url) health_url="$2"; shift 2 ;;
    --health-host) health_host="$2"; shift 2 ;;
    --health-tries) health_tries="$2"; shift 2 ;;
    *) usage ;;
  esac
done
if [ -z "$app_dir" ] || [ -z "$secret_id" ]; then usage; fi

env_file="$app_dir/.env"

cleanup() {
  rm -f "$env_file"
}
trap cleanup EXIT

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

health_check() {
  [ -n "$health_url" ] || return 0
  local header=()
  [ -z "$health_host" ] || header=(-H "Host: $health_host")
  local try
  for try in $(seq 1 "$health_tries"); do
    if curl -fsS -o /dev/null "${header[@]}" "$health_url"; then
      echo "healthy after $try tries"
      return 0
    fi
    sleep "$health_delay"
  done
  echo "not healthy after $health_tries tries: $health_url" >&2
  return 1
}

cd "$app_dir"
write_env
docker compose -f "$compose_file" --env-file "$env_file" pull
docker compose -f "$compose_file" --env-file "$env_file" up -d --remove-orphans
health_check
