/** A data file that cannot be used as it is: foreign, corrupt, locked, or of a newer format. */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}
