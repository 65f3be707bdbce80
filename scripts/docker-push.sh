#!/usr/bin/env bash
# Build SERVICE's current sources into ENV's ECR repository on that environment's ARM CodeBuild (linux/arm64 only;
# nothing is built on this machine). Prints the image URI and digest. See `python -m graviton_commands.docker_push --help`.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  echo "docker-push: expected ENV SERVICE [DOCKERFILE], got $# argument(s); usage: scripts/docker-push.sh ENV SERVICE [DOCKERFILE]" >&2
  exit 2
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
  echo "docker-push: $PWD/.venv/bin/python is missing; run make setup first" >&2
  exit 2
fi
# As in the Makefile: the pinned Node (when installed) runs jsii, which computes the image tag.
export PATH="$PWD/node_modules/.bin:$PATH"
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1
exec .venv/bin/python -m graviton_commands.docker_push "$@"
