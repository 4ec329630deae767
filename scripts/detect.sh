#!/usr/bin/env bash
# The article's "aws rekognition detect-custom-labels", through rclsim (fake unless --backend aws).
source "$(dirname "${BASH_SOURCE[0]}")/_article_env.sh"
exec "$RCLSIM" detect --project-version-arn "$ARN" \
    --image "{\"S3Object\": {\"Bucket\": \"$BUCKET\",\"Name\": \"$KEY\"}}" --region "$REGION" "$@"
