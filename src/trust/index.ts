// Public surface of src/trust: where trust material comes from. Deciding whether something is trusted is src/verify's.
export { toTrustAnchor, type TrustAnchor, type TrustAnchorSource, type TrustSource } from './anchor.js';
export { PUBLIC_GOOD_TUF_MIRROR, readEmbeddedRoot } from './embedded.js';
export { parsePublicKey, type PublicKeyAlgorithm, type PublicKeyMaterial } from './keys.js';
export { loadEmbeddedTrustAnchor, loadOfflineTrustAnchor, loadTrustAnchor, loadTrustAnchorFile, type LoadTrustOptions, type RefreshMode } from './load.js';
export {
  describeTrustAnchor,
  exportTrust,
  renderTrustShow,
  updateTrust,
  type TrustEntryReport,
  type TrustExportResult,
  type TrustShowResult,
  type TrustUpdateOptions,
  type TrustUpdateResult,
} from './report.js';
export { checkTrustedRoot, TRUSTED_ROOT_MEDIA_TYPES, type TrustEntryKind, type TrustEntrySummary } from './root.js';
export { defaultTrustDir, fetchTrustedRootViaTuf, readSavedRoot, saveRefreshedRoot, type SavedRoot, type TufRefreshOptions } from './tuf.js';
