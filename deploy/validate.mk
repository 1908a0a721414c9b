# Offline checks of deploy/: kustomize overlays, Terraform and skaffold.yaml. deploy/validate is
# its own Go module, so it is tested from its own directory. Included by the root Makefile.
.PHONY: test-deploy
test-deploy:
	cd deploy/validate && go test -race -count=1 ./...
