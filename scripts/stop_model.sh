#!/usr/bin/env bash
# The article's "aws rekognition stop-project-version", through rclsim (fake unless --backend aws).
source "$(dirname "${BASH_SOURCE[0]}")/_article_env.sh"
exec "$RCLSIM" stop --project-version-arn "$ARN" --region "$REGION" "$@"
