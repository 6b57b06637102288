// The notebook's state in its metadata: the checkpoints its cells produced are written relative to the notebook's
// folder, survive serialize → parse, follow the folder when it moves, and files written before the state existed (or
// with a hand-edited state) still open.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { type NotebookFile, parseNotebook, serializeNotebook } from '../src/shared/notebookFormat';
import { NOTEBOOK_STATE_KEY, metadataWithState, relativeToNotebook, sameState,
  stateFromMetadata } from '../src/shared/notebookState';

const ROOT = path.resolve(__dirname, '..');
const dir = path.resolve('/work/notebooks');

test('older files without metadata still parse, with an empty state', () => {
  const file = path.join(ROOT, 'examples', 'quickstart.tinymem');
  const nb = parseNotebook(fs.readFileSync(file), file);
  assert.ok(nb.cells.length > 0, 'the quickstart has cells');
  assert.equal(nb.metadata?.[NOTEBOOK_STATE_KEY], undefined, 'the quickstart predates the state');
  assert.deepEqual(stateFromMetadata(nb.metadata, dir), {});
  const bare = parseNotebook('{"format": "tinymem-notebook", "version": 1, "cells": []}');
  assert.equal(bare.metadata, undefined);
  assert.deepEqual(stateFromMetadata(bare.metadata, dir), {});
});

test('the state survives metadata → serialize → parse, stored relative to the notebook\u2019s folder', () => {
  const state = { lastCheckpoint: path.join(dir, 'runs', 'e2e'), lastEdited: path.join(dir, 'runs', 'e2e-greedy') };
  const metadata = metadataWithState({ created: 'by hand' }, state, dir);
  assert.deepEqual(metadata, { created: 'by hand',
    [NOTEBOOK_STATE_KEY]: { lastCheckpoint: 'runs/e2e', lastEdited: 'runs/e2e-greedy' } });
  const nb: NotebookFile = { format: 'tinymem-notebook', version: 1, metadata,
    cells: [{ kind: 'step', source: 'step: memorization\n' }] };
  const text = serializeNotebook(nb);
  assert.match(text, /"tinymem":\{"lastCheckpoint":"runs\/e2e","lastEdited":"runs\/e2e-greedy"\}/);
  const back = parseNotebook(text);
  assert.deepEqual(back, nb);
  assert.deepEqual(stateFromMetadata(back.metadata, dir), state);
  // The notebook and its runs moved together: the state follows the folder.
  const moved = path.resolve('/elsewhere/copy');
  assert.deepEqual(stateFromMetadata(back.metadata, moved),
    { lastCheckpoint: path.join(moved, 'runs', 'e2e'), lastEdited: path.join(moved, 'runs', 'e2e-greedy') });
});

test('paths outside the notebook\u2019s folder stay relative; an untitled notebook stores absolute paths', () => {
  assert.equal(relativeToNotebook(path.resolve('/work/other/ckpt'), dir), '../other/ckpt');
  assert.equal(relativeToNotebook(dir, dir), '.');
  const abs = path.resolve('/data/ckpt');
  const md = metadataWithState(undefined, { lastCheckpoint: abs }, undefined);
  assert.deepEqual(md, { [NOTEBOOK_STATE_KEY]: { lastCheckpoint: abs } });
  assert.deepEqual(stateFromMetadata(md, dir), { lastCheckpoint: abs });
});

test('an empty state removes the key; unknown keys of ours and other metadata are kept', () => {
  const md = { other: 1, [NOTEBOOK_STATE_KEY]: { lastCheckpoint: 'a', future: true } };
  assert.deepEqual(metadataWithState(md, {}, dir), { other: 1, [NOTEBOOK_STATE_KEY]: { future: true } });
  assert.deepEqual(metadataWithState({ other: 1, [NOTEBOOK_STATE_KEY]: { lastCheckpoint: 'a' } }, {}, dir),
    { other: 1 });
  assert.deepEqual(metadataWithState(undefined, {}, dir), {});
});

test('a hand-edited state is ignored value by value, and the notebook still opens', () => {
  const text = JSON.stringify({ format: 'tinymem-notebook', version: 1, cells: [],
    metadata: { [NOTEBOOK_STATE_KEY]: { lastCheckpoint: 42, lastEdited: 'runs/x' } } });
  const nb = parseNotebook(text);
  assert.deepEqual(stateFromMetadata(nb.metadata, dir), { lastEdited: path.join(dir, 'runs', 'x') });
  for (const bad of [null, 'runs/x', [1], { lastCheckpoint: '' }, { lastCheckpoint: ' ' }]) {
    assert.deepEqual(stateFromMetadata({ [NOTEBOOK_STATE_KEY]: bad }, dir), {}, JSON.stringify(bad));
  }
});

test('sameState compares the recorded checkpoints only', () => {
  assert.ok(sameState({}, {}));
  assert.ok(sameState({ lastCheckpoint: '/a' }, { lastCheckpoint: '/a', lastEdited: undefined }));
  assert.ok(!sameState({ lastCheckpoint: '/a' }, { lastCheckpoint: '/b' }));
  assert.ok(!sameState({}, { lastEdited: '/e' }));
});
