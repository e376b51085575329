/** The store-backed ImageSource, defined in store/store-source.ts (the store constructs it); re-exported for image/'s users. */
export { storeImageSource, type Attestation, type StoreImageSource } from '../store/store-source.ts';
