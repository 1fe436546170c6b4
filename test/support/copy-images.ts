/** Moved to src/demo (airlock demo runs them); re-exported for the tests. */
export * from '../../src/demo/images.js';
