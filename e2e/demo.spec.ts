/**
 * The first minute with a trained model: "Explore a trained model" loads the COSMOS demo (public/models/) and opens
 * Attention on its showcase scene, on the map that points best by the demo's `cosmos evaluate` numbers (relevance
 * from block 1 while the pooler's map points away); that map of each object's sentence is checked against where the
 * scene generator put that object (the pointing game, played on the page's own maps); Zero-shot and Segmentation run on it; the
 * CLIP vs COSMOS tab shows both demo models on one scene.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { loadSceneAtlasFromDisk } from '../src/data/scenes-node.ts';
import { heldOutScenes, renderScene, sceneTruth } from '../src/data/scenes.ts';
import { patchCentreInside } from '../src/eval/pointing.ts';
import { bestPointingMap, pointingMapName } from '../src/ui/panels/pointingMap.ts';
import type { DemoManifest } from '../src/worker/protocol.ts';
import { collectErrors, expectAdapter, expectNoEngineError } from './helpers.ts';

const manifest = JSON.parse(readFileSync('public/models/demo.json', 'utf8')) as DemoManifest;
/** The first held-out scenes, whose every object sentence is pointed with on the page. */
const SCENES = 12;

/** A pattern matching `text` literally. */
const literally = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

test('explores the trained COSMOS demo: its sentence maps point at the held-out objects, and it faces the CLIP demo', async ({ page }) => {
  test.setTimeout(300_000);
  const errors = collectErrors(page);
  // The map Explore opens on: the one that points best by the demo's `cosmos evaluate` numbers.
  const best = bestPointingMap(manifest.models.cosmos.evaluate)!;
  await page.goto('/');
  await expectAdapter(page);
  await page.getByTestId('explore-button').click();
  await expect(page).toHaveURL(/tab=attention/, { timeout: 60_000 });
  await expect(page.getByTestId('attention-scene')).toHaveValue(String(manifest.showcase));
  const patchMap = page.getByTestId('patch-map');
  await expect(patchMap).toBeVisible({ timeout: 90_000 });
  await expectNoEngineError(page);
  const shown = best.kind === 'relevance' ? page.getByTestId('relevance-map') : patchMap;
  if (best.kind === 'relevance') {
    await expect(page.getByTestId('attention-relevance')).toBeChecked();
    await expect(shown).toBeVisible({ timeout: 120_000 });
    // It leads; the pooler's map follows, with why.
    const order = await page
      .getByTestId('relevance-block')
      .evaluate((relevance, pooler) => Boolean(relevance.compareDocumentPosition(pooler!) & Node.DOCUMENT_POSITION_FOLLOWING), await patchMap.elementHandle());
    expect(order, 'relevance shown before the pooler’s map').toBe(true);
    await expect(page.getByTestId('pooler-note')).toContainText('Shown second');
  }

  // The pointing game on the page's maps: for each object, its sentence's map peaks inside its box.
  const atlas = await loadSceneAtlasFromDisk();
  const size = 64;
  const grid: [number, number] = [8, 8];
  let hits = 0;
  let poolerHits = 0;
  let objects = 0;
  for (const [index, scene] of heldOutScenes(atlas, SCENES, manifest.scenes).entries()) {
    await page.getByTestId('attention-scene').selectOption(String(index));
    const sentences = page.getByTestId('attention-sentences');
    for (const truth of sceneTruth(scene, renderScene(atlas, scene, size))) {
      const text = truth.sentence.replace(/\.$/, '');
      const chip = sentences.getByRole('button', { name: text, exact: false });
      await chip.click({ timeout: 60_000 });
      await expect(chip).toHaveClass(/chip-on/);
      // The relevance of this scene's sentence, from the block Explore chose (computed after the pooler's maps).
      if (best.kind === 'relevance') await expect(shown).toHaveAttribute('aria-label', literally(`sentence "${text}`), { timeout: 120_000 });
      const peak = Number(await shown.getAttribute('data-peak'));
      hits += Number(patchCentreInside(peak, grid, size, truth.box));
      poolerHits += Number(patchCentreInside(Number(await patchMap.getAttribute('data-peak')), grid, size, truth.box));
      objects++;
    }
  }
  const rate = hits / objects;
  const stated = best.value;
  console.log(
    `pointing on the page with ${pointingMapName(best)}: ${hits}/${objects} = ${rate.toFixed(3)} (evaluate over 256 scenes: ${stated}); ` +
      `the pooler's map: ${poolerHits}/${objects} (evaluate: ${manifest.models.cosmos.evaluate.pointing_cross_attention})`,
  );
  // As often as `cosmos evaluate` says over 256 scenes, within two standard errors of a sample this size.
  expect(rate).toBeGreaterThanOrEqual(stated - 2 * Math.sqrt((stated * (1 - stated)) / objects));

  // Zero-shot and Segmentation on the demo model.
  await page.getByTestId('tab-zeroshot').click();
  await expect(page.getByTestId('zeroshot-ranked').locator('li').first()).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('tab-segment').click();
  await expect(page.getByTestId('segment-map')).toBeVisible({ timeout: 60_000 });

  // CLIP vs COSMOS: both demo models' maps of one scene, and their held-out scorecards.
  await page.getByTestId('tab-compare').click();
  await expect(page.getByTestId('compare-cosmos')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('compare-clip')).toBeVisible();
  await expect(page.getByTestId('compare-scores-cosmos')).toBeVisible();
  await expect(page.getByTestId('compare-scores-clip')).toBeVisible();
  await expectNoEngineError(page);
  expect(errors, 'console errors').toEqual([]);
});
