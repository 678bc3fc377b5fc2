// SPDX-License-Identifier: GPL-2.0-only
/*
 * Debian's libpcap.a is built with its D-Bus capture source, and pcap.c's
 * table of capture sources refers to it, so linking pcap_compile() drags in
 * references to libdbus. ipft only compiles filters on a dead handle and
 * never opens a capture: these stand-ins satisfy the linker and fail if
 * ever called.
 */
#include <stddef.h>

#define IPFT_DBUS_STUB(name) \
	void *name(void) { return NULL; }

IPFT_DBUS_STUB(dbus_bus_add_match)
IPFT_DBUS_STUB(dbus_bus_get)
IPFT_DBUS_STUB(dbus_bus_register)
IPFT_DBUS_STUB(dbus_connection_flush)
IPFT_DBUS_STUB(dbus_connection_open)
IPFT_DBUS_STUB(dbus_connection_pop_message)
IPFT_DBUS_STUB(dbus_connection_read_write)
IPFT_DBUS_STUB(dbus_connection_send)
IPFT_DBUS_STUB(dbus_connection_set_max_received_size)
IPFT_DBUS_STUB(dbus_connection_unref)
IPFT_DBUS_STUB(dbus_error_free)
IPFT_DBUS_STUB(dbus_error_is_set)
IPFT_DBUS_STUB(dbus_free)
IPFT_DBUS_STUB(dbus_message_demarshal)
IPFT_DBUS_STUB(dbus_message_is_signal)
IPFT_DBUS_STUB(dbus_message_marshal)
IPFT_DBUS_STUB(dbus_message_unref)
