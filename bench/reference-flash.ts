import path from 'node:path';

/**
 * iota.flash.js 0.0.2, the 2017 reference Flash library, driven as its examples/flash.js and examples/functions.js
 * drive it: two users each hold a Flash object; one composes the transfer, both sign it, the signatures are applied,
 * and both users apply the signed bundles (applyTransfers validates every signature and diffs the new state). Its
 * example leaves the branch growth as a comment ("Tell the server to generate new addresses"); here each user makes
 * the digests for the new branch, and both attach the same new addresses under the node updateLeafToRoot names.
 * Every message between the two users goes through JSON, as over MQTT.
 */

interface Digest {
  digest: string;
  security: number;
  index: number;
}

/** A multisig node of the library's tree, with the fields its example adds for signing. */
interface RefMultisig {
  address: string;
  securitySum: number;
  children: RefMultisig[];
  bundles: unknown[][];
  index: number;
  signingIndex: number;
  security: number;
}

interface Transaction {
  address: string;
  value: number;
}
type Bundle = Transaction[];

interface RefLibrary {
  multisig: {
    getDigest(seed: string, index: number, security: number): Digest;
    composeAddress(digests: Digest[]): RefMultisig;
    updateLeafToRoot(root: RefMultisig): { multisig: RefMultisig | undefined; generate: number };
  };
  transfer: {
    prepare(settlement: string[], deposits: number[], fromIndex: number, destinations: Transaction[]): Transaction[];
    compose(balance: number, deposit: number[], outputs: object, root: RefMultisig, remainder: RefMultisig, history: Bundle[], transfers: Transaction[], close: boolean): Bundle[];
    sign(root: RefMultisig, seed: string, bundles: Bundle[]): unknown[];
    appliedSignatures(bundles: Bundle[], signatures: unknown[]): Bundle[];
    applyTransfers(root: RefMultisig, deposit: number[], outputs: object, remainder: RefMultisig, history: Bundle[], bundles: Bundle[]): void;
  };
}

const LIB_DIR = path.dirname(require.resolve('iota.flash.js/lib/flash.js'));

/**
 * A fresh copy of the library with `MAX_USES` set as asked (undefined: as shipped, 3). transfer.js copies MAX_USES
 * when it is loaded, so the constants are changed before, on a fresh module cache; node_modules stays untouched.
 */
export function loadReference(maxUses?: number): { library: RefLibrary; maxUses: number } {
  for (const file of Object.keys(require.cache)) if (file.startsWith(LIB_DIR + path.sep)) delete require.cache[file];
  /* eslint-disable @typescript-eslint/no-require-imports -- a module instance of its own, loaded at run time */
  const constants = require(path.join(LIB_DIR, 'constants.js')) as { MAX_USES: number };
  if (maxUses !== undefined) constants.MAX_USES = maxUses;
  const library: RefLibrary = { multisig: require(path.join(LIB_DIR, 'multisig.js')), transfer: require(path.join(LIB_DIR, 'transfer.js')) };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { library, maxUses: constants.MAX_USES };
}

/** A message as the other party gets it over MQTT: through JSON. */
export const throughJson = <T>(message: T): T => JSON.parse(JSON.stringify(message)) as T;

interface User {
  userIndex: number;
  seed: string;
  /** The next key index. */
  index: number;
  flash: {
    deposit: number[];
    outputs: object;
    transfers: Bundle[];
    remainderAddress: RefMultisig;
    root: RefMultisig;
    settlementAddresses: string[];
  };
}

export interface ReferenceChannel {
  library: RefLibrary;
  users: [User, User];
  balance: number;
}

const SEEDS = ['USERONE'.padEnd(81, 'U'), 'USERTWO'.padEnd(81, 'U')];
const SETTLEMENTS = ['USERONE9ADDRESS'.padEnd(81, '9'), 'USERTWO9ADDRESS'.padEnd(81, '9')];

/**
 * The multisig addresses of both users' next digests, decorated for user `me` as the example does (key index,
 * signing index, security sum).
 */
function addressesFor(library: RefLibrary, me: User, digests: [Digest[], Digest[]]): RefMultisig[] {
  return digests[me.userIndex].map((digest, i) => {
    const pair = [digests[0][i], digests[1][i]];
    const node = library.multisig.composeAddress(pair);
    node.index = digest.index;
    node.signingIndex = me.userIndex * digest.security;
    node.securitySum = pair.reduce((sum, d) => sum + d.security, 0);
    node.security = digest.security;
    return node;
  });
}

/** `count` new digests of each user, at each user's next key indices. */
function newDigests(library: RefLibrary, users: [User, User], security: number, count: number): [Digest[], Digest[]] {
  return users.map((user) => Array.from({ length: count }, () => library.multisig.getDigest(user.seed, user.index++, security))) as [Digest[], Digest[]];
}

/** Each node the parent of the next. */
function chain(nodes: RefMultisig[]): RefMultisig {
  for (let i = 1; i < nodes.length; i++) nodes[i - 1].children.push(nodes[i]);
  return nodes[0];
}

/** A channel whose first branch is a chain of `chainLength` multisig nodes, plus the library's remainder address. */
export function openReference(library: RefLibrary, chainLength: number, security: number, deposits: [number, number]): ReferenceChannel {
  const users = SEEDS.map((seed, userIndex) => ({ userIndex, seed, index: 0 })) as unknown as [User, User];
  const digests = newDigests(library, users, security, chainLength + 1);
  for (const user of users) {
    const [remainderAddress, ...branch] = addressesFor(library, user, digests);
    user.flash = { deposit: [...deposits], outputs: {}, transfers: [], remainderAddress, root: chain(branch), settlementAddresses: SETTLEMENTS };
  }
  return { library, users, balance: deposits[0] + deposits[1] };
}

/** False once every node of the tree is used up: the channel must be closed. */
export function referenceCanPay(channel: ReferenceChannel): boolean {
  return channel.library.multisig.updateLeafToRoot(channel.users[0].flash.root).multisig !== undefined;
}

/** One payment of `amount` from user one to user two: grow the tree if needed, compose, both sign, both apply. */
export function referencePay(channel: ReferenceChannel, security: number, amount = 1): void {
  const { library, users } = channel;
  const [one, two] = users;
  const toUse = library.multisig.updateLeafToRoot(one.flash.root);
  if (!toUse.multisig) throw new Error('the reference channel is used up');
  if (toUse.generate > 0) {
    const digests = newDigests(library, users, security, toUse.generate);
    for (const user of users) {
      const at = user === one ? toUse.multisig : library.multisig.updateLeafToRoot(user.flash.root).multisig!;
      at.children.push(chain(addressesFor(library, user, digests)));
    }
  }
  const transfers = library.transfer.prepare(one.flash.settlementAddresses, one.flash.deposit, one.userIndex, [{ address: SETTLEMENTS[1], value: amount }]);
  const bundles = library.transfer.compose(channel.balance, one.flash.deposit, one.flash.outputs, toUse.multisig, one.flash.remainderAddress, one.flash.transfers, transfers, false);

  const bundlesAtTwo = throughJson(bundles);
  const twoSignatures = throughJson(library.transfer.sign(two.flash.root, two.seed, bundlesAtTwo));
  const oneSignatures = library.transfer.sign(one.flash.root, one.seed, bundles);
  const signed = library.transfer.appliedSignatures(library.transfer.appliedSignatures(bundles, oneSignatures), twoSignatures);

  for (const [user, received] of [
    [one, signed],
    [two, throughJson(signed)],
  ] as const) {
    library.transfer.applyTransfers(user.flash.root, user.flash.deposit, user.flash.outputs, user.flash.remainderAddress, user.flash.transfers, received);
  }
}
