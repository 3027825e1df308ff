# demo-docker.sh: the docker chapter, sourced by demo.sh (which defines run,
# expect, chapter, $nv2, $work and $registry). Build an image with docker,
# sign it with no registry running, push image and signature, discover them,
# pull only what verifies, and run it. Uses the engine `docker info` reaches,
# else a private dockerd (root, docker.io installed) stopped by demo.sh's
# cleanup; without either, says that the chapter was skipped.
# shellcheck shell=bash

export NV2_DOCKERD_STATE=$work/dockerd
if ! docker_host=$(NV2_DOCKERD_INSTALL=0 scripts/dockerd.sh start); then
  echo "demo: SKIPPED the docker chapter: no docker engine is reachable or can be started here (see above)."
  echo "demo: to see it, run 'sudo scripts/dockerd.sh install' (Debian's docker.io) and 'make demo' as root, or export a DOCKER_HOST that 'docker info' reaches."
  return 0
fi
export DOCKER_HOST=$docker_host
echo "DOCKER_HOST=$DOCKER_HOST"
key=$work/keys/wabbit-networks.io.key
crt=$work/keys/wabbit-networks.io.crt
image=$registry/hello-docker:v1

chapter "Docker 1/6: install nv2 as the docker CLI plugin and configure it"
mkdir -p "$DOCKER_CONFIG/cli-plugins"
install -m 0755 "$nv2" "$DOCKER_CONFIG/cli-plugins/docker-nv2"
run docker nv2 config set --key "$key" --cert "$crt" --verify-cert "$crt"
run docker nv2 config enable

chapter "Docker 2/6: docker build a FROM scratch image of a static program"
mkdir -p "$work/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from a signed image") }\n' >"$work/hello/main.go"
printf 'module hello\n\ngo 1.26\n' >"$work/hello/go.mod"
(cd "$work/hello" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -o hello .)
printf 'FROM scratch\nCOPY hello /hello\nENTRYPOINT ["/hello"]\n' >"$work/hello/Dockerfile"
run docker build -q -t "$image" "$work/hello"

chapter "Docker 3/6: sign it with no registry running: the digest it will have once pushed"
run scripts/registry.sh stop
run docker nv2 sign "$image"
registry=$(scripts/registry.sh start)

chapter "Docker 4/6: push image and signature, and discover them"
run docker nv2 push "$image"
run docker nv2 discover "$image"

chapter "Docker 5/6: pull only what verifies, then run the verified digest"
run docker rmi "$image"
run docker nv2 pull "$image"
run docker nv2 run --rm --network none "$image"

chapter "Docker 6/6: an image pushed without a signature is neither pulled nor run: exit 3"
printf 'FROM scratch\nCOPY hello /hello\nLABEL signed=no\nENTRYPOINT ["/hello"]\n' >"$work/hello/Dockerfile"
run docker build -q -t "$registry/unsigned-docker:v1" "$work/hello"
run docker push -q "$registry/unsigned-docker:v1"
run docker rmi "$registry/unsigned-docker:v1"
expect 3 docker nv2 pull "$registry/unsigned-docker:v1"
expect 3 docker nv2 run --rm --network none "$registry/unsigned-docker:v1"
