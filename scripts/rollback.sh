#!/usr/bin/env bash
# Roll the worker fleet back to the image deployed before the current one (the seed's rollback plan:
# "previous Docker image version"), and wait until the ECS service is steady on it.
#
#   scripts/rollback.sh STACK [IMAGE_URI@sha256:...] [--dry-run]
#
# The stack records every deployed digest as a version of the SSM parameter named by its
# WorkerImageParameterName output; without IMAGE_URI the newest earlier value different from the
# current one is chosen. The stack is updated with its own template and every other parameter kept
# (UsePreviousValue), so only the image changes. --dry-run prints the choice and changes nothing.
set -euo pipefail

usage() { echo "usage: scripts/rollback.sh STACK [IMAGE_URI@sha256:...] [--dry-run]" >&2; exit 2; }
stack="" target="" dry_run=false
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=true ;;
    -h|--help) usage ;;
    *) if [ -z "$stack" ]; then stack=$arg; elif [ -z "$target" ]; then target=$arg; else usage; fi ;;
  esac
done
[ -n "$stack" ] || usage

output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

param=$(output WorkerImageParameterName)
[ -n "$param" ] && [ "$param" != None ] || { echo "error: $stack has no WorkerImageParameterName output" >&2; exit 1; }
current=$(aws ssm get-parameter --name "$param" --query Parameter.Value --output text)
if [ -z "$target" ]; then
  # the history is oldest first: walk it newest first to the first digest that is not the current one
  target=$(aws ssm get-parameter-history --name "$param" --query 'Parameters[].Value' --output text \
    | tr '\t' '\n' | tac | awk -v cur="$current" 'NF && $0 != cur { print; exit }')
fi
[ -n "$target" ] || { echo "error: $param has no earlier image than $current; nothing to roll back to" >&2; exit 1; }
[[ "$target" == *@sha256:* ]] || { echo "error: $target is not an image by digest" >&2; exit 1; }

echo "stack:    $stack"
echo "current:  $current"
echo "rollback: $target"
if $dry_run; then
  exit 0
fi

parameters=()
for key in $(aws cloudformation describe-stacks --stack-name "$stack" \
               --query 'Stacks[0].Parameters[].ParameterKey' --output text); do
  if [ "$key" = WorkerImageUri ]; then
    parameters+=("ParameterKey=WorkerImageUri,ParameterValue=$target")
  else
    parameters+=("ParameterKey=$key,UsePreviousValue=true")
  fi
done
aws cloudformation update-stack --stack-name "$stack" --use-previous-template \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --parameters "${parameters[@]}" >/dev/null
echo "waiting for the stack update (the service deploys the previous task definition image)..."
aws cloudformation wait stack-update-complete --stack-name "$stack"

cluster=$(output WorkerClusterName)
service=$(output WorkerServiceName)
# one waiter run polls for 10 minutes; a large fleet may take longer to replace every task
for _ in 1 2 3; do
  if aws ecs wait services-stable --cluster "$cluster" --services "$service"; then
    echo "rolled back: $service runs $target"
    exit 0
  fi
done
echo "error: $service is not steady after 30 minutes; see its events (aws ecs describe-services)" >&2
exit 1
