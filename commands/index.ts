// Explicit command registry (oclif "explicit" strategy): no directory scan at start-up.
import Inspect from './inspect.js';
import Copy from './copy.js';
import VerifyBundle from './verify-bundle.js';
import TrustShow from './trust/show.js';
import TrustUpdate from './trust/update.js';
import TrustExport from './trust/export.js';
import VerifyBlob from './verify/blob.js';
import VerifyImage from './verify/image.js';
import VerifyAttestation from './verify/attestation.js';
import Init from './init.js';
import LedgerList from './ledger/list.js';
import LedgerShow from './ledger/show.js';
import LedgerVerify from './ledger/verify.js';
import LedgerCheckpoint from './ledger/checkpoint.js';
import LedgerProve from './ledger/prove.js';
import LedgerExport from './ledger/export.js';

export const COMMANDS = {
  inspect: Inspect,
  copy: Copy,
  'verify-bundle': VerifyBundle,
  'trust:show': TrustShow,
  'trust:update': TrustUpdate,
  'trust:export': TrustExport,
  'verify:blob': VerifyBlob,
  'verify:image': VerifyImage,
  'verify:attestation': VerifyAttestation,
  init: Init,
  'ledger:list': LedgerList,
  'ledger:show': LedgerShow,
  'ledger:verify': LedgerVerify,
  'ledger:checkpoint': LedgerCheckpoint,
  'ledger:prove': LedgerProve,
  'ledger:export': LedgerExport,
};
