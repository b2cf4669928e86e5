/**
 * Which Vulkan drivers Dawn is offered in Node, and which adapter it is asked for first: a GPU where one is there,
 * else a CPU driver. Without a GPU the choice is between two CPU drivers: Chromium's SwiftShader, there wherever
 * Debian's chromium is, and Mesa's lavapipe, which runs our kernels 2-2.6x faster on the same CPU (measured here:
 * matmul 18 against 8 GFLOP/s, the tiny COSMOS step 357 against 934 ms), as it runs 8 lanes of AVX2 where SwiftShader
 * runs 4. Only a recent lavapipe will do: Debian 12's own (Mesa 22, Vulkan 1.1) lacks a feature Dawn requires, while
 * Mesa 25's from bookworm-backports (Vulkan 1.4) works. Drivers the user names in VK_ICD_FILENAMES are left as they are.
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
  /** Every other manifest in the loader's folders: GPU drivers (NVIDIA's, Mesa's radv and anv, ...), whose GPU may be absent. */
  others: string[];
  swiftshader: string | null;
}

export interface Attempt {
  /** Dawn `create` flags. */
  flags: string[];
  /** Only a GPU will do: the attempt is passed over where Dawn's adapter is a fallback (CPU) one. */
  gpuOnly: boolean;
}

export interface DriverPlan {
  /** What VK_ICD_FILENAMES is set to, or null to leave it as it is. */
  icdFiles: string | null;
  /** Tried in turn: the first whose adapter comes up (and is a GPU, where asked) is used. */
  attempts: Attempt[];
}

const ANY_ADAPTER: Attempt = { flags: [], gpuOnly: false };

const recentEnough = (apiVersion: string): boolean => {
  const [major = 0, minor = 0] = apiVersion.split('.').map(Number);
  return major > MIN_LAVAPIPE_API[0] || (major === MIN_LAVAPIPE_API[0] && minor >= MIN_LAVAPIPE_API[1]);
};

/** The manifests of the installed lavapipes that Dawn takes. */
export function recentLavapipe(installed: InstalledDrivers): string[] {
  return installed.lavapipe.filter((d) => recentEnough(d.apiVersion)).map((d) => d.file);
}

/**
 * A GPU first where a GPU driver is installed; then a recent lavapipe where there is one (Dawn asked for the llvmpipe
 * adapter, which it would otherwise rank below SwiftShader); then any adapter. Naming the CPU drivers means naming
 * every driver, as VK_ICD_FILENAMES replaces the loader's own search; an old lavapipe is left out. With
 * VK_ICD_FILENAMES already set, whatever it names; with no CPU driver to add, the loader's own search.
 */
export function planDrivers(userIcdFiles: string | undefined, installed: InstalledDrivers): DriverPlan {
  if (userIcdFiles) return { icdFiles: null, attempts: [ANY_ADAPTER] };
  const lavapipe = recentLavapipe(installed);
  const cpuDrivers = [...lavapipe, ...(installed.swiftshader ? [installed.swiftshader] : [])];
  if (cpuDrivers.length === 0) return { icdFiles: null, attempts: [ANY_ADAPTER] };
  return {
    icdFiles: [...installed.others, ...cpuDrivers].join(':'),
    attempts: [
      ...(installed.others.length > 0 ? [{ flags: [], gpuOnly: true }] : []),
      ...(lavapipe.length > 0 ? [{ flags: ['adapter=llvmpipe'], gpuOnly: false }] : []),
      ANY_ADAPTER,
    ],
  };
}

/** The manifests in the loader's folders (lavapipe's as far as they can be read) and SwiftShader's. */
export function installedDrivers(dirs: readonly string[] = ICD_DIRS, swiftshader = SWIFTSHADER_ICD): InstalledDrivers {
  const lavapipe: InstalledDrivers['lavapipe'] = [];
  const others: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const file = join(dir, name);
      if (!name.startsWith('lvp_icd')) {
        others.push(file);
        continue;
      }
      try {
        const apiVersion = (JSON.parse(readFileSync(file, 'utf8')) as { ICD?: { api_version?: unknown } }).ICD?.api_version;
        if (typeof apiVersion === 'string') lavapipe.push({ file, apiVersion });
      } catch {
        // An unreadable or malformed manifest is a driver the loader would skip too.
      }
    }
  }
  return { lavapipe, others, swiftshader: existsSync(swiftshader) ? swiftshader : null };
}
