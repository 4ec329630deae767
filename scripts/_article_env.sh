# Shared by scripts/start_model.sh, detect.sh and stop_model.sh: the article's three AWS CLI steps
# through rclsim. Set these to your own values; the defaults are the article's model and image.
#   ARN     the model version's ARN
#   REGION  its region
#   BUCKET  the S3 bucket of the image (detect.sh)
#   KEY     the image's key in that bucket (detect.sh)
# Any further arguments go to rclsim, e.g. --backend aws (or set RCLSIM_BACKEND=aws) for real AWS.
: "${ARN:=arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/version/licence-plates.2021-01-01T00.00.00/1609459200000}"
: "${REGION:=ap-northeast-1}"
: "${BUCKET:=my-bucket}"
: "${KEY:=test-qiita/9c5f2a31335627a0.jpg}"
# An rclsim on PATH is used as it is; otherwise the project's .venv is made (or reused).
if command -v rclsim >/dev/null 2>&1; then
    RCLSIM="$(command -v rclsim)"
else
    RCLSIM_EXTRAS=""
    source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
    RCLSIM="$VENV/bin/rclsim"
fi
