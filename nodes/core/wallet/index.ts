/** The device's IOTA account: seed handling, the persistent key counter, and the connection to a Tangle. */
export { generateSeed, isValidSeed, seedFingerprint, redactSeed } from './seed';
export { WalletStore, WalletStoreError, WalletAddress } from './wallet-store';
export { Wallet, WalletError, WalletOptions, Balance, SentBundle, SecurityLevel } from './wallet';
export { connectTangle, TangleConnection, TangleSettings, TangleMode, IotaApi } from './tangle-connection';
