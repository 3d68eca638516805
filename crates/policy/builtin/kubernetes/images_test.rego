package builtin.kubernetes

import rego.v1

with_image(image) := deployment({"containers": [object.union(hardened, {"image": image})]})

# STRATA-K8S-011

test_latest_and_untagged_images_denied if {
	every image in ["nginx", "nginx:latest", "registry.acme.example:5000/team/app", "ghcr.io/acme/app:latest"] {
		fs := deny_image_tag with input as with_image(image)
		count(fs) == 1
		some f in fs
		f.id == "STRATA-K8S-011"
		f.checkov == "CKV_K8S_14"
	}
}

test_tagged_and_digest_images_pass if {
	every image in [
		"nginx:1.27.0",
		"registry.acme.example:5000/team/app:2024.06.1",
		"ghcr.io/acme/app@sha256:0b3c6e4c8d0f6f2d1b5a7e9c3d2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f",
		"ghcr.io/acme/app:latest@sha256:0b3c6e4c8d0f6f2d1b5a7e9c3d2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f",
	] {
		count(deny_image_tag) == 0 with input as with_image(image)
		count(unknowns) == 0 with input as with_image(image)
	}
}

test_unrendered_image_tag_is_unknown if {
	every image in ["ghcr.io/acme/app:${IMAGE_TAG}", "ghcr.io/acme/app:{{ .Values.tag }}", "ghcr.io/acme/app:$(TAG)"] {
		count(deny_image_tag) == 0 with input as with_image(image)
		fs := unknowns with input as with_image(image)
		{f.id | some f in fs} == {"STRATA-K8S-011"}
	}
}
