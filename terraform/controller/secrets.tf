# Secrets the controller and the runners read at run time. Terraform creates the containers
# only: the values are put by hand (docs/deploy.md), so they never enter the Terraform state.

locals {
  secrets = {
    webhook-secret    = "GitHub webhook secret (HMAC key of X-Hub-Signature-256)"
    github-app        = "GitHub App private key (the PEM file GitHub generates for the App)"
    registry          = "Container registry credentials for image builds: JSON {username, password}, the image_build step's registry_secret"
    infracost-api-key = "Infracost API key of the runners' cost step (used when infracost_enabled)"
    app               = "The application's settings for cd-application: JSON {KEY: value} that the app hosts write to a 0600 .env for the deploy only (POSTGRES_*, DATABASE_URL, ACME_EMAIL, APP_DOMAIN)"

    # The run pages' sign-in (docs/pages.md), read by the API function only.
    oauth-client-secret = "The GitHub App's OAuth client secret, for the run pages' sign-in (docs/pages.md)"
    session-key         = "Key of the run pages' session cookies: a long random string (docs/pages.md)"
  }
}

resource "aws_secretsmanager_secret" "this" {
  for_each = local.secrets

  #checkov:skip=CKV2_AWS_57:These secrets are issued by GitHub and a registry, which Secrets Manager cannot rotate; docs/deploy.md describes rotating them by hand.
  name                    = "${var.app_name}/${var.stage}/${each.key}"
  description             = each.value
  kms_key_id              = aws_kms_key.controller.arn
  recovery_window_in_days = 7
}
