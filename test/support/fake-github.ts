/** The FAKE GitHub moved to src/demo (airlock demo runs it as its stand-in); re-exported for the tests. */
export * from '../../src/demo/fake-github.js';
