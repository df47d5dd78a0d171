"""flistd: the flist mount manager daemon of a ZOS node."""
