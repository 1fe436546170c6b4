// Explicit command registry (oclif "explicit" strategy): no directory scan at start-up.
import Inspect from './inspect.js';

export const COMMANDS = {
  inspect: Inspect,
};
