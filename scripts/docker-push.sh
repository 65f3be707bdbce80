#!/usr/bin/env bash
# Build SERVICE's current sources into ENV's ECR repository on that environment's ARM CodeBuild (linux/arm64 only;
# nothing is built on this machine). Prints the image URI and digest. See `python -m graviton_commands.docker_push --help`.
set -euo pipefail

# `-c KEY=VALUE` overrides (make's CONTEXT) may come anywhere; the rest are the positional arguments.
positional=()
overrides=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    -c|--context)
      if [ "$#" -lt 2 ]; then
        echo "docker-push: $1 needs KEY=VALUE; usage: scripts/docker-push.sh ENV SERVICE [DOCKERFILE] [-c KEY=VALUE ...]" >&2
        exit 2
      fi
      overrides+=("$1" "$2")
      shift 2
      ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done
if [ "${#positional[@]}" -lt 2 ] || [ "${#positional[@]}" -gt 3 ]; then
  echo "docker-push: expected ENV SERVICE [DOCKERFILE], got ${#positional[@]} argument(s); usage: scripts/docker-push.sh ENV SERVICE [DOCKERFILE] [-c KEY=VALUE ...]" >&2
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
exec .venv/bin/python -m graviton_commands.docker_push "${positional[@]}" "${overrides[@]}"
