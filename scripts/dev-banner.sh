#!/usr/bin/env bash
# Prints the local function URLs and a ready-to-paste signed request (after `stack.sh up`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAMBDA_PORT=${LAMBDA_PORT:-9000}
MOTO_PORT=${MOTO_PORT:-4566}
set -a; . "$ROOT/dev.env"; set +a
base="http://127.0.0.1:$LAMBDA_PORT/lambda-url"
cat <<TXT

callvault is running locally.
  AWS emulator (DynamoDB, S3): http://127.0.0.1:$MOTO_PORT   table: $TABLE_NAME   bucket: $BUCKET_NAME
  Function URLs:
TXT
for f in hatif-call hatif-whatsapp voiceinfra voki postcall; do printf '    %-15s %s/%s/\n' "$f" "$base" "$f"; done
cat <<TXT

Send the VoiceInfra example webhook (signed with the dev secret from dev.env):
TXT
(cd "$ROOT" && target/debug/callvault-devstack example --url "$base/voiceinfra/" \
  --payload tests/fixtures/voiceinfra.json --header X-VoiceInfra-Signature --secrets-var VOICEINFRA_WEBHOOK_SECRETS)
cat <<TXT

Read it back:
  AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \\
    .venv/bin/python -c "import boto3; print(boto3.resource('dynamodb').Table('$TABLE_NAME').get_item(Key={'pk':'CALL#voiceinfra#call_01HXYZ123456','sk':'CALL'}).get('Item'))"
TXT
