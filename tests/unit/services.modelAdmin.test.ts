// The model service and the administrator (issue 18): a version is offered as newer only when it is; a rollback by
// the admin (latest pointed to an older version) is announced with the registry's notice and applies at the next
// classification; a withdrawn version is never loaded. The registry is changed with the real `ssclnet publish`.
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { compareVersions, rollbackTarget } from '../../extension/src/services/ModelService';
import { makeServices, publishRandom } from './servicesFixtures';
import { tmpDir } from './inferenceFixtures';

jest.setTimeout(240_000);
const repo = path.join(__dirname, '..', '..');
function publish(registry: string, ...args: string[]) {
  const env = {
    ...process.env,
    PYTHONPATH: [path.join(repo, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  execFileSync('python3', ['-m', 'ssclnet.cli', 'publish', '--registry', registry, ...args], {
    cwd: repo,
    env,
    stdio: 'pipe',
  });
}

test('versions are ordered by creation date, then by version text', () => {
  expect(
    compareVersions(
      { version: 'b', created: '2026-11-23T10:00:00Z' },
      { version: 'a', created: '2026-12-02T10:00:00Z' },
    ),
  ).toBeLessThan(0);
  expect(compareVersions({ version: '2026.11.23-10' }, { version: '2026.11.23-9' })).toBeGreaterThan(0);
});

test('admin rollback: announced with the notice, applied at the next classification; withdrawn versions are refused', async () => {
  const work = tmpDir('model-admin');
  const reg = path.join(work, 'registry');
  publishRandom(work, reg, 'ad-1', 1);
  publishRandom(work, reg, 'ad-2', 2);
  const { modelService, classification } = makeServices(reg);
  await modelService.ensureLoaded();
  expect(modelService.getState().status).toMatchObject({ version: 'ad-2' });

  // The admin points latest back to ad-1 and says why: an older version is not "available", it is announced.
  publish(reg, '--rollback', 'ad-1', '--notice', 'ad-2 misreads T1 slices');
  expect(await modelService.checkForUpdate()).toBeNull();
  const u = modelService.getState().update;
  expect(u.available).toBeNull();
  expect(u.announcement).toBe(
    'Your administrator switched back to ad-1: ad-2 misreads T1 slices. It applies at the next classification.',
  );
  expect(modelService.getState().status).toMatchObject({ version: 'ad-2' }); // not yet
  const r = await classification.classifySlice();
  expect(r!.classification.modelVersion).toBe('ad-1');
  expect(modelService.getState().update.announcement).toMatch(
    /^Your administrator switched back to ad-1: ad-2 misreads T1 slices\. Now using ad-1\.$/,
  );

  // ad-2 is newer than ad-1 but withdrawn: never offered, never loaded, and the service says why.
  publish(reg, '--withdraw', 'ad-2', '--reason', 'misreads T1 slices');
  expect(await modelService.checkForUpdate()).toBeNull();
  expect(await modelService.switchTo('ad-2')).toBe(false);
  expect(modelService.getState().update.message).toMatch(
    /ad-2 could not be loaded; still using ad-1: Model ad-2 was withdrawn by your administrator: misreads T1 slices/,
  );
  expect(modelService.getState().status).toMatchObject({ version: 'ad-1' });

  // A newer version is offered as newer.
  publishRandom(work, reg, 'ad-3', 3);
  expect(await modelService.checkForUpdate()).toBe('ad-3');

  // A viewer opened while latest is withdrawn does not load it.
  publish(reg, '--rollback', 'ad-1');
  publish(reg, '--withdraw', 'ad-3', '--reason', 'wrong preprocessing');
  const fresh = makeServices(reg).modelService;
  await fresh.ensureLoaded();
  expect(fresh.getState().status).toMatchObject({ kind: 'ready', version: 'ad-1' });
});

test('"Back to" skips versions the administrator withdrew', () => {
  const versions = [
    { version: 'a', path: 'a', card_sha256: '' },
    { version: 'b', path: 'b', card_sha256: '', withdrawn: true },
    { version: 'c', path: 'c', card_sha256: '' },
  ];
  expect(rollbackTarget({ previous: ['a', 'b'], versions })).toBe('a');
  expect(rollbackTarget({ previous: ['a', 'c'], versions })).toBe('c');
  expect(rollbackTarget({ previous: ['b'], versions })).toBeNull();
  expect(rollbackTarget({ previous: [], versions })).toBeNull();
});
