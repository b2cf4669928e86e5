import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER_ICD as SWIFTSHADER, installedDrivers, planDrivers } from './vulkanDrivers.ts';

const MESA_25 = { file: '/usr/share/vulkan/icd.d/lvp_icd.json', apiVersion: '1.4.305' };
const MESA_22 = { file: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', apiVersion: '1.1.230' };

describe('Vulkan drivers for Dawn in Node', () => {
  it('offers a recent lavapipe first, asking Dawn for llvmpipe, then any adapter, with SwiftShader beside it', () => {
    expect(planDrivers(undefined, { lavapipe: [MESA_22, MESA_25], swiftshader: SWIFTSHADER })).toEqual({
      icdFiles: `${MESA_25.file}:${SWIFTSHADER}`,
      attempts: [['adapter=llvmpipe'], []],
    });
  });

  it("leaves Debian 12's own lavapipe out (Dawn refuses Mesa 22, and says so on every start): SwiftShader alone", () => {
    expect(planDrivers(undefined, { lavapipe: [MESA_22], swiftshader: SWIFTSHADER })).toEqual({ icdFiles: SWIFTSHADER, attempts: [[]] });
  });

  it('leaves VK_ICD_FILENAMES alone when the user set it, and when there is nothing to name', () => {
    expect(planDrivers('/my/icd.json', { lavapipe: [MESA_25], swiftshader: SWIFTSHADER })).toEqual({ icdFiles: null, attempts: [[]] });
    expect(planDrivers(undefined, { lavapipe: [], swiftshader: null })).toEqual({ icdFiles: null, attempts: [[]] });
  });

  it('finds lavapipe manifests with their Vulkan version, skipping other drivers, unreadable manifests and missing folders', () => {
    const root = mkdtempSync(join(tmpdir(), 'icd-'));
    try {
      const dir = join(root, 'icd.d');
      mkdirSync(dir);
      writeFileSync(join(dir, 'lvp_icd.json'), JSON.stringify({ ICD: { api_version: '1.4.305', library_path: 'libvulkan_lvp.so' } }));
      writeFileSync(join(dir, 'lvp_icd.i686.json'), '{ not json');
      writeFileSync(join(dir, 'radeon_icd.x86_64.json'), JSON.stringify({ ICD: { api_version: '1.4.305' } }));
      const found = installedDrivers([dir, join(root, 'missing')], join(root, 'no-swiftshader.json'));
      expect(found).toEqual({ lavapipe: [{ file: join(dir, 'lvp_icd.json'), apiVersion: '1.4.305' }], swiftshader: null });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
