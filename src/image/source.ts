/** The ImageSource interface, defined in oci/image-source.ts (below the store, which returns one); re-exported for image/'s users. */
export type { ImageSource } from '../oci/image-source.ts';
