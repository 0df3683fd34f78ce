import { isUtf8 } from "node:buffer";
import { readdirSync } from "node:fs";

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

/**
 * Lists the names in a host directory. Node turns bytes that are not
 * UTF-8 into U+FFFD, so such a name would be silently replaced by another
 * one; it is rejected instead.
 * TODO: carry names as bytes, so that layers with such names can be
 * stacked and exported.
 */
export function readNames(hostDir: string): string[] {
  const names: string[] = [];
  for (const raw of readdirSync(hostDir, { encoding: "buffer" })) {
    if (!isUtf8(raw)) {
      throw new OverlayError(
        "UNSUPPORTED_NAME",
        `${hostDir}/${raw.toString("latin1")} has a name that is not valid UTF-8, which uwrx cannot stack or export yet; rename it`,
      );
    }
    names.push(raw.toString("utf8"));
  }
  return names;
}
