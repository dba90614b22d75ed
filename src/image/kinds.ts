/** The imager's output kinds hearth renders profiles for (a module of its own: the CLI's flag choices). */
export const PROFILE_KINDS = ['installer', 'kernel', 'initramfs', 'iso', 'uki'] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];
