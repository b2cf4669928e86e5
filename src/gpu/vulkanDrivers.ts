/**
 * Which Vulkan drivers Dawn is offered in Node, and which adapter it is asked for first. Without a GPU the choice is
 * between two CPU drivers: Chromium's SwiftShader, there wherever Debian's chromium is, and Mesa's lavapipe, which
 * runs our kernels 2-2.6x faster on the same CPU (measured here: matmul 18 against 8 GFLOP/s, the tiny COSMOS step
 * 357 against 934 ms), as it runs 8 lanes of AVX2 where SwiftShader runs 4. Only a recent lavapipe will do: Debian
 * 12's own (Mesa 22, Vulkan 1.1) lacks a feature Dawn requires, while Mesa 25's from bookworm-backports (Vulkan
 * 1.4) works. Drivers the user names in VK_ICD_FILENAMES are left as they are.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Where the Vulkan loader finds installed drivers' manifests (ICD files). */
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

/** Mesa 22's lavapipe says Vulkan 1.1 and is refused by Dawn; the first we know Dawn takes says 1.4. */
const MIN_LAVAPIPE_API: readonly [number, number] = [1, 3];

export interface InstalledDrivers {
  /** Lavapipe manifests with the Vulkan version each declares ("1.4.305"). */
  lavapipe: { file: string; apiVersion: string }[];
  swiftshader: string | null;
}

export interface DriverPlan {
  /** What VK_ICD_FILENAMES is set to, or null to leave it as it is. */
  icdFiles: string | null;
  /** Dawn `create` flags to try in turn: the first whose adapter comes up is used. */
  attempts: string[][];
}

const recentEnough = (apiVersion: string): boolean => {
  const [major = 0, minor = 0] = apiVersion.split('.').map(Number);
  return major > MIN_LAVAPIPE_API[0] || (major === MIN_LAVAPIPE_API[0] && minor >= MIN_LAVAPIPE_API[1]);
};

/** The manifests of the installed lavapipes that Dawn takes. */
export function recentLavapipe(installed: InstalledDrivers): string[] {
  return installed.lavapipe.filter((d) => recentEnough(d.apiVersion)).map((d) => d.file);
}

/**
 * Lavapipe first where a recent one is installed (Dawn asked for the llvmpipe adapter, then for any), else SwiftShader
 * alone; with VK_ICD_FILENAMES already set, whatever it names.
 */
export function planDrivers(userIcdFiles: string | undefined, installed: InstalledDrivers): DriverPlan {
  if (userIcdFiles) return { icdFiles: null, attempts: [[]] };
  const lavapipe = recentLavapipe(installed);
  const files = [...lavapipe, ...(installed.swiftshader ? [installed.swiftshader] : [])];
  return { icdFiles: files.length ? files.join(':') : null, attempts: lavapipe.length ? [['adapter=llvmpipe'], []] : [[]] };
}

/** The lavapipe manifests in the loader's folders and SwiftShader's, as far as they can be read. */
export function installedDrivers(dirs: readonly string[] = ICD_DIRS, swiftshader = SWIFTSHADER_ICD): InstalledDrivers {
  const lavapipe: InstalledDrivers['lavapipe'] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => /^lvp_icd.*\.json$/.test(n)).sort()) {
      const file = join(dir, name);
      try {
        const apiVersion = (JSON.parse(readFileSync(file, 'utf8')) as { ICD?: { api_version?: unknown } }).ICD?.api_version;
        if (typeof apiVersion === 'string') lavapipe.push({ file, apiVersion });
      } catch {
        // An unreadable or malformed manifest is a driver the loader would skip too.
      }
    }
  }
  return { lavapipe, swiftshader: existsSync(swiftshader) ? swiftshader : null };
}
