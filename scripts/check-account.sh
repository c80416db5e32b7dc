#!/usr/bin/env bash
# The deploy guide's first step on a fresh account: the quotas traffic-tool needs, and the ECS
# service-linked role (a fresh account has none, and the first ECS cluster in a stack can fail
# without it). Reads quotas only; creates nothing but that role.
#
#   scripts/check-account.sh [MAX_WORKERS] [WORKER_VCPU]     (defaults: the template's, 16 and 2)
set -euo pipefail

max_workers=${1:-16}
worker_vcpu=${2:-2}
need_vcpu=$((max_workers * worker_vcpu))
# 5 functions; the API's share is bounded by the stage throttle, so 100 leaves room for bursts.
need_lambda=100
status=0

quota() { # service-code quota-code → value (the applied one, else the default)
  aws service-quotas get-service-quota --service-code "$1" --quota-code "$2" \
    --query 'Quota.Value' --output text 2>/dev/null \
  || aws service-quotas get-aws-default-service-quota --service-code "$1" --quota-code "$2" \
    --query 'Quota.Value' --output text
}

check() { # label have need
  local have=${2%.*}
  if [ "$have" -ge "$3" ]; then
    printf 'ok    %-40s %6s (need %s)\n' "$1" "$have" "$3"
  else
    printf 'LOW   %-40s %6s (need %s): aws service-quotas request-service-quota-increase\n' "$1" "$have" "$3"
    status=1
  fi
}

echo "account $(aws sts get-caller-identity --query Account --output text), region $(aws configure get region)"
check "Lambda concurrent executions" "$(quota lambda L-B99A9384)" "$need_lambda"
check "Fargate On-Demand vCPU" "$(quota fargate L-3032A538)" "$need_vcpu"
check "Fargate Spot vCPU" "$(quota fargate L-36FBB829)" "$need_vcpu"

if aws iam get-role --role-name AWSServiceRoleForECS >/dev/null 2>&1; then
  echo "ok    ECS service-linked role AWSServiceRoleForECS exists"
else
  aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com >/dev/null
  echo "made  ECS service-linked role AWSServiceRoleForECS"
fi
exit $status
