// extension/modelFormat.ts: the model-file settings (sizes, stores, ${env:…} tokens) and the words the view shows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baseName, expandEnv, formatBytes, formatDuration, parseByteSize, percentOf, progressMessage, readModelStores } from '../../extension/modelFormat';

describe('parseByteSize', () => {
  test('numbers of bytes and sizes with units', () => {
    assert.equal(parseByteSize(1073741824), 1073741824);
    assert.equal(parseByteSize('20GiB'), 20 * 1024 ** 3);
    assert.equal(parseByteSize('20 gib'), 20 * 1024 ** 3);
    assert.equal(parseByteSize('500MB'), 500e6);
    assert.equal(parseByteSize('1.5G'), 1.5e9);
    assert.equal(parseByteSize('16Mi'), 16 * 1024 ** 2);
    assert.equal(parseByteSize('4096'), 4096);
    assert.equal(parseByteSize('12 B'), 12);
  });
  test('empty, 0 and missing mean no limit; nonsense is undefined', () => {
    for (const empty of [undefined, null, '', '  ', 0, '0']) assert.equal(parseByteSize(empty), 0, String(empty));
    for (const bad of ['lots', '20 parsecs', '-5', -5, '1e9', {}, '2..5G']) assert.equal(parseByteSize(bad), undefined, String(bad));
  });
});

describe('formatting', () => {
  test('bytes in binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(50 * 1024 ** 2), '50 MiB');
    assert.equal(formatBytes(200 * 1024 ** 3), '200 GiB');
  });
  test('durations', () => {
    assert.equal(formatDuration(4.4), '4 s');
    assert.equal(formatDuration(200), '3 min 20 s');
    assert.equal(formatDuration(120), '2 min');
    assert.equal(formatDuration(3900), '1 h 5 min');
  });
  test('percent never says 100 before the end', () => {
    assert.equal(percentOf(0, 0), 0);
    assert.equal(percentOf(42, 100), 42);
    assert.equal(percentOf(999_999, 1_000_000), 99);
    assert.equal(percentOf(1_000_000, 1_000_000), 100);
  });
  test('progress message with rate and time left', () => {
    assert.equal(progressMessage(21 * 1024 ** 2, 50 * 1024 ** 2, 10 * 1024 ** 2, 2.9), '42 % of 50 MiB · 10 MiB/s · 3 s left');
    assert.equal(progressMessage(0, 50 * 1024 ** 2, 0, 0), '0 % of 50 MiB');
  });
  test('base names', () => {
    assert.equal(baseName('yolo/v8n.onnx'), 'v8n.onnx');
    assert.equal(baseName('README.md'), 'README.md');
  });
});

describe('sidestream.modelStores', () => {
  test('${env:NAME} in a token is replaced; unset variables are named', () => {
    assert.deepEqual(expandEnv('${env:A}-${env:B}', { A: 'x' }), { value: 'x-', missing: ['B'] });
    assert.deepEqual(expandEnv('plain', {}), { value: 'plain', missing: [] });
  });
  test('valid entries become stores; invalid and duplicate ones are skipped with a reason', () => {
    const { stores, problems } = readModelStores(
      [
        { name: ' team ', address: '127.0.0.1:50061', token: '${env:TEAM_TOKEN}' },
        { name: 'open', address: 'models.lan:50061' },
        { name: 'team', address: '127.0.0.1:1' },
        { address: '127.0.0.1:2' },
        'nonsense',
      ],
      { TEAM_TOKEN: 's3cret' },
    );
    assert.deepEqual(stores, [
      { name: 'team', address: '127.0.0.1:50061', token: 's3cret' },
      { name: 'open', address: 'models.lan:50061', token: '' },
    ]);
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /two stores named "team"/);
    assert.match(problems[1]!, /\[3\] needs a "name" and an "address"/);
  });
  test('no setting, no stores; a non-list is a problem', () => {
    assert.deepEqual(readModelStores(undefined, {}), { stores: [], problems: [] });
    assert.equal(readModelStores({ name: 'x' }, {}).problems.length, 1);
  });
});
