/** The generated Flux-shaped upstream moved to src/demo (airlock demo runs it); re-exported for the tests. */
export * from '../../src/demo/flux-upstream.js';
