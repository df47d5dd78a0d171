"""provisiond: thin entry point over `zos_provision.daemon`."""
