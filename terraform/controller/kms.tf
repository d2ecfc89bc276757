# One customer managed key encrypts the controller's data at rest: tables, queues, the
# artifacts bucket, secrets, logs and the alarm topic. Its policy lets the account administer
# it through IAM and lets the AWS services that write encrypted data on the controller's behalf
# use it.

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:This is a key policy: its "*" resource is the key itself, and write access is limited to the account and to the named services of this account.
  #checkov:skip=CKV_AWS_356:This is a key policy: "*" as resource means this key only.
  #checkov:skip=CKV_AWS_109:This is a key policy: the account root administers the key through IAM, which is the AWS default and keeps IAM the single place of grants.
  statement {
    sid = "AccountAdministersThroughIam"
    # Key policies name the key itself as "*". Granting the account root kms:* is the AWS default
    # key policy: it delegates every permission on this key to IAM policies, which are scoped.
    actions   = ["kms:*"] # justified: AWS default key policy, delegates to IAM
    resources = ["*"]     # justified: in a key policy "*" is this key

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "ServicesEncryptOnOurBehalf"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"]
    resources = ["*"] # justified: in a key policy "*" is this key

    principals {
      type = "Service"
      identifiers = [
        "logs.${var.region}.amazonaws.com",
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
        "sns.amazonaws.com",
        "sqs.amazonaws.com",
      ]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "controller" {
  description             = "MaestrOps ${var.stage}: data at rest of the controller"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "controller" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.controller.key_id
}
