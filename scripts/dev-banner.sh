#!/usr/bin/env bash
# Prints the local function URLs and ready-to-paste authenticated requests (after `stack.sh up`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LAMBDA_PORT=${LAMBDA_PORT:-9000}
MOTO_PORT=${MOTO_PORT:-4566}
set -a; . ./dev.env; set +a
base="http://127.0.0.1:$LAMBDA_PORT/lambda-url"
example() { target/debug/callvault-devstack example --url "$base/$1/" --payload "tests/fixtures/$2" "${@:3}"; }
cat <<TXT

callvault is running locally.
  AWS emulator (DynamoDB, S3): http://127.0.0.1:$MOTO_PORT   table: $TABLE_NAME   bucket: $BUCKET_NAME
  Function URLs:
TXT
for f in hatif-call hatif-whatsapp voiceinfra voki postcall query-api; do printf '    %-15s %s/%s/\n' "$f" "$base" "$f"; done
echo
echo "Send each provider's documented example (authenticated with the dev secrets in dev.env):"
echo
echo "# VoiceInfra"
example voiceinfra voiceinfra.json --header X-VoiceInfra-Signature --secrets-var VOICEINFRA_WEBHOOK_SECRETS
echo "# Hatif call (signed with the seed channel's secret)"
example hatif-call hatif-call.json --header X-Voxa-Signature --key 5f6d08bc-455a-4532-98b8-19e2cee51160 --secrets-var HATIF_WEBHOOK_SECRETS
echo "# Hatif WhatsApp message"
example hatif-whatsapp hatif-whatsapp.json --header X-Voxa-Signature --key 5f6d08bc-455a-4532-98b8-19e2cee51160 --secrets-var HATIF_WEBHOOK_SECRETS
echo "# Voki call.completed (add -H 'X-Voki-Delivery: <id>' to make resends idempotent)"
example voki voki-call-completed.json --header X-Voki-Signature --scheme sha256 --secrets-var VOKI_WEBHOOK_SECRETS
echo "# Post-call webhook (shared token)"
example postcall postcall.json --secrets-var POSTCALL_TOKENS
cat <<TXT

Read the records back with the callvault CLI (same flags against AWS, minus --endpoint-url):
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
  target/debug/callvault --endpoint-url http://127.0.0.1:$MOTO_PORT calls list --since 7days
  target/debug/callvault --endpoint-url http://127.0.0.1:$MOTO_PORT calls get voiceinfra call_01HXYZ123456
  target/debug/callvault --endpoint-url http://127.0.0.1:$MOTO_PORT --json messages list --conversation <conversation id>
or through the query API (IAM auth is AWS's job; locally there is none):
  curl -s '$base/query-api/calls?limit=5'
TXT
