/**
 * npm test's lavapipe stage: the matmul's tests for CPU adapters, against PyTorch's fixtures, again on Mesa's lavapipe.
 * Its subgroups have 8 lanes where SwiftShader's (the adapter of the main unit-test stage) have 4, and the matmul
 * kernel is chosen by that (shaders/matmul_subgroups.wgsl's 8-lane tiles): this stage is where those are checked.
 * Only those: lavapipe compiles a pipeline in 1-3 s and a fresh machine has no Mesa shader cache (this subset took 4
 * minutes cold, 15 s warm), and every other kernel is the same on both adapters and tested on SwiftShader.
 * Where no lavapipe that Dawn takes is installed (Mesa 25 from bookworm-backports, see the README) it says so and is
 * skipped, unless COSMOS_REQUIRE_LAVAPIPE=1 (.ci/run, which installs it) makes that a failure.
 */
import { spawnSync } from 'node:child_process';
import { installedDrivers, recentLavapipe } from '../src/gpu/vulkanDrivers.ts';

const FILES = ['src/tensor/ops/matmul.test.ts'];
/** The fixtures as a CPU adapter runs them, and the test that the adapter is lavapipe with 8-lane subgroups. */
const TESTS = 'CPU adapter|kernel choice';
/** Well over the minutes it takes cold: a driver that hangs fails the stage instead of the whole CI run. */
const TIMEOUT_MS = 15 * 60_000;

const drivers = recentLavapipe(installedDrivers());
if (drivers.length === 0) {
  const why = 'no lavapipe with Vulkan 1.3 or later is installed (Mesa 25: apt-get install -t bookworm-backports mesa-vulkan-drivers)';
  if (process.env.COSMOS_REQUIRE_LAVAPIPE === '1') {
    console.error(`lavapipe stage: ${why}, and COSMOS_REQUIRE_LAVAPIPE=1 asks for it.`);
    process.exit(1);
  }
  console.log(`lavapipe stage skipped: ${why}.`);
  process.exit(0);
}
console.log(`lavapipe stage: ${drivers.join(', ')}`);
const result = spawnSync('npx', ['vitest', 'run', ...FILES, '--testNamePattern', TESTS], {
  stdio: 'inherit',
  timeout: TIMEOUT_MS,
  env: { ...process.env, VK_ICD_FILENAMES: drivers.join(':'), COSMOS_TEST_DRIVER: 'lavapipe' },
});
if (result.error) console.error(`lavapipe stage: ${result.error.message}`);
process.exit(result.status ?? 1);
