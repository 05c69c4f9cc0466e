/**
 * Every image pinned: a version tag (`:v1.2.3`, `:0.12.1`, `:v1.83.0-stable`: at least
 * major.minor) or a digest (`@sha256:<64 hex>`), never `:latest`, a floating name
 * (`main-stable`, `nightly`) or no tag at all (which Docker reads as `latest`).
 * Reference grammar: distribution/reference (`[host[:port]/]path[:tag][@digest]`).
 * Read from: Docker `RemoteImage.name` and `Container.image` (a literal reference, not the
 * image ID the RemoteImage hands it), and every (init) container of a Kubernetes workload.
 */
import { containersOf, isWorkload, k8sName } from "../kubernetes";
import { CONTAINER_TYPE, REMOTE_IMAGE_TYPE, type ResourceView, type RuleResult, asString, isUnknown } from "../view";

export interface ImageRef {
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf("@");
  const nameAndTag = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
  const colon = nameAndTag.lastIndexOf(":");
  const hasTag = colon > nameAndTag.lastIndexOf("/");
  return {
    repository: hasTag ? nameAndTag.slice(0, colon) : nameAndTag,
    ...(hasTag ? { tag: nameAndTag.slice(colon + 1) } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const VERSION_TAG = /^v?\d+\.\d+(?:[.\-+_][0-9A-Za-z.\-_]+)?$/;

/** Why an image reference is not pinned; undefined when it is. */
export function imagePinProblem(ref: string): string | undefined {
  const { tag, digest } = parseImageRef(ref);
  if (digest !== undefined) {
    return DIGEST.test(digest) ? undefined : `image "${ref}" has a malformed digest "${digest}": use @sha256:<64 hex digits>`;
  }
  if (tag === undefined) return `image "${ref}" has no tag, so Docker pulls "latest": pin a version tag (e.g. :v1.2.3) or a digest (@sha256:...)`;
  if (tag === "latest") return `image "${ref}" is tagged "latest": pin a version tag (e.g. :v1.2.3) or a digest (@sha256:...)`;
  if (!VERSION_TAG.test(tag)) return `image "${ref}" is tagged "${tag}", which is not a version: pin a version tag (e.g. :v1.2.3) or a digest (@sha256:...)`;
  return undefined;
}

function checkWorkloadImages(r: ResourceView): RuleResult {
  return containersOf(r).flatMap((c) => {
    const image = c.fields["image"];
    if (isUnknown(image)) return [];
    const ref = asString(image);
    const problem = ref === undefined ? `container "${c.name}" has no image` : imagePinProblem(ref);
    return problem === undefined ? [] : [{ message: `${r.type.split(":").pop() ?? "workload"} "${k8sName(r)}": ${ref === undefined ? problem : `container "${c.name}": ${problem}`}` }];
  });
}

export function checkPinnedImages(r: ResourceView): RuleResult {
  if (isWorkload(r)) return checkWorkloadImages(r);
  let ref: string | undefined;
  if (r.type === REMOTE_IMAGE_TYPE) {
    if (isUnknown(r.props["name"])) return [];
    ref = asString(r.props["name"]);
    if (ref === undefined) return [{ message: `remote image "${r.name}" has no image name to check` }];
  } else if (r.type === CONTAINER_TYPE) {
    ref = asString(r.props["image"]);
    // An image ID (sha256:...) names exact content; so does any reference with a digest check below.
    if (ref === undefined || ref.startsWith("sha256:")) return [];
  } else {
    return [];
  }
  const problem = imagePinProblem(ref);
  return problem === undefined ? [] : [{ message: `${r.type === REMOTE_IMAGE_TYPE ? "remote image" : "container"} "${r.name}": ${problem}` }];
}
