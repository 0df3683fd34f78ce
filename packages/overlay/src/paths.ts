import { OverlayError } from "./errors.js";

/** Rejects a path that does not start with "/". */
export function requireAbsolute(path: string, label = "path"): void {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new OverlayError(
      "INVALID_PATH",
      `Invalid ${label} ${JSON.stringify(path)}: expected an absolute path starting with "/".`,
    );
  }
}

/** Splits a path into its components, dropping empty ones ("a//b" is "a/b"). */
export function splitPath(path: string): string[] {
  return path.split("/").filter((part) => part.length > 0);
}

/** Appends one component to an absolute merged path. */
export function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** Places an absolute merged path under a layer directory on the host. */
export function hostPathIn(root: string, path: string): string {
  if (root === "/") return path;
  const trimmed = root.endsWith("/") ? root.slice(0, -1) : root;
  return path === "/" ? trimmed : trimmed + path;
}
