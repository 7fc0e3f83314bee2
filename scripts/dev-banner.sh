#!/usr/bin/env bash
# Prints what `make dev` runs and how to use it (after `stack.sh up`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LAMBDA_PORT=${LAMBDA_PORT:-9000}
MOTO_PORT=${MOTO_PORT:-4566}
set -a; . ./dev.env; set +a
export MOTO_PORT LAMBDA_PORT
cli=target/debug/callvault
cat <<TXT

callvault is running locally.
  AWS emulator (DynamoDB, S3, Secrets Manager): http://127.0.0.1:$MOTO_PORT
TXT
$cli --stack local stack
cat <<TXT

Look at the calls, listen to them and read them (the console):
  http://127.0.0.1:${CONSOLE_PORT:-8787}/

Send a signed sample of every provider and event type and see each one land:
  $cli --stack local trigger --all
or print them as curl commands to send yourself:
  $cli --stack local trigger voki --curl

Watch, read and manage (export CALLVAULT_STACK=local to drop --stack local):
  $cli --stack local status
  $cli --stack local tail
  $cli --stack local calls list --since 7days
  $cli --stack local deliveries list voiceinfra vi-<run>
  $cli --stack local secrets list
or through the query API (IAM auth is AWS's job; locally there is none):
  curl -s 'http://127.0.0.1:$LAMBDA_PORT/lambda-url/query-api/calls?limit=5'
TXT
