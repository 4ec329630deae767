#!/usr/bin/env bash
# The article's "aws rekognition start-project-version", through rclsim: on the fake unless
# --backend aws (or RCLSIM_BACKEND=aws). Says the hourly price first; on AWS it asks before starting.
source "$(dirname "${BASH_SOURCE[0]}")/_article_env.sh"
exec "$RCLSIM" start --project-version-arn "$ARN" --min-inference-units 1 --region "$REGION" "$@"
