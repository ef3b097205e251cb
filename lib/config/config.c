/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The YAML loader: libyaml builds a document tree whose nodes carry their position,
 * and each section walker turns nodes into structs, checking as it goes. The first
 * problem found ends the load with "FILE:LINE:COLUMN: message".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <yaml.h>

#include "config.h"

#define CFG_FILE_MAX (16u << 20) /* a router config is a few KiB; refuse anything absurd */

struct loader {
	yaml_document_t doc;
	struct config *cfg;
	const char *name;
	yaml_node_t *key; /* the key whose value is being parsed, for errors about the key */
	char *err;
	size_t err_len;
	/* Routes by prefix while they are read (open addressing, index + 1; 0 empty), so
	 * that finding a duplicate does not take time in the number of routes. */
	uint32_t *route_slots;
	uint32_t route_mask;
};

/* Walkers return -1 after writing the error; 0 on success. */
typedef int (*field_fn)(struct loader *l, yaml_node_t *value, void *obj);

struct field {
	const char *key;
	field_fn parse;
	bool required;
};

static struct cfg_loc loc_of(const yaml_node_t *node)
{
	struct cfg_loc loc = { (int)node->start_mark.line + 1, (int)node->start_mark.column + 1 };

	return loc;
}

__attribute__((format(printf, 4, 0)))
static int error_at_mark(struct loader *l, size_t line, size_t column, const char *fmt,
			 va_list ap)
{
	char msg[CFG_ERR_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(l->err, l->err_len, "%s:%zu:%zu: %s", l->name, line + 1, column + 1, msg);
	return -1;
}

/* NODE NULL means the start of the file. */
__attribute__((format(printf, 3, 4)))
static int error_at(struct loader *l, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_at_mark(l, node ? node->start_mark.line : 0, node ? node->start_mark.column : 0,
		      fmt, ap);
	va_end(ap);
	return -1;
}

static const char *scalar(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static yaml_node_t *node_at(struct loader *l, int index)
{
	return yaml_document_get_node(&l->doc, index);
}

static unsigned int list_len(const yaml_node_t *list)
{
	return (unsigned int)(list->data.sequence.items.top - list->data.sequence.items.start);
}

static int expect(struct loader *l, const yaml_node_t *node, yaml_node_type_t type)
{
	static const char *const names[] = {
		[YAML_NO_NODE] = "a value",
		[YAML_SCALAR_NODE] = "a single value, not a list or mapping",
		[YAML_SEQUENCE_NODE] = "a list",
		[YAML_MAPPING_NODE] = "a mapping",
	};

	if (node->type != type)
		return error_at(l, node, "expected %s", names[type]);
	return 0;
}

/* Walk a mapping: each key must be one of FIELDS, at most once; required ones must be
 * present. Unknown keys are errors because a typo must never be silently ignored. */
static int parse_mapping(struct loader *l, yaml_node_t *map, const struct field *fields,
			 void *obj)
{
	yaml_node_pair_t *pair;
	unsigned int i, seen = 0;

	if (expect(l, map, YAML_MAPPING_NODE))
		return -1;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = node_at(l, pair->key);

		if (expect(l, key, YAML_SCALAR_NODE))
			return -1;
		for (i = 0; fields[i].key; i++)
			if (!strcmp(scalar(key), fields[i].key))
				break;
		if (!fields[i].key)
			return error_at(l, key, "unknown key '%s'", scalar(key));
		if (seen & (1u << i))
			return error_at(l, key, "duplicate key '%s'", scalar(key));
		seen |= 1u << i;
		l->key = key;
		if (fields[i].parse(l, node_at(l, pair->value), obj))
			return -1;
	}
	for (i = 0; fields[i].key; i++)
		if (fields[i].required && !(seen & (1u << i)))
			return error_at(l, map, "missing key '%s'", fields[i].key);
	return 0;
}

/* Call PARSE for each item of a list. */
static int parse_list(struct loader *l, yaml_node_t *list,
		      int (*parse)(struct loader *, yaml_node_t *))
{
	yaml_node_item_t *item;

	if (expect(l, list, YAML_SEQUENCE_NODE))
		return -1;
	for (item = list->data.sequence.items.start; item < list->data.sequence.items.top; item++)
		if (parse(l, node_at(l, *item)))
			return -1;
	return 0;
}

/* Plain decimal only: no sign, no hex, no spaces, no YAML 1.1 "1_000" or sexagesimal. */
static int parse_uint(struct loader *l, yaml_node_t *node, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	const char *s;
	char *end;

	*out = 0;
	if (node->type != YAML_SCALAR_NODE)
		return error_at(l, node, "expected an integer from %lu to %lu", min, max);
	s = scalar(node);
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || *out < min || *out > max)
		return error_at(l, node, "expected an integer from %lu to %lu", min, max);
	return 0;
}

static int parse_string(struct loader *l, yaml_node_t *node, char *buf, size_t len,
			const char *what)
{
	if (expect(l, node, YAML_SCALAR_NODE))
		return -1;
	if (!*scalar(node) || strlen(scalar(node)) >= len)
		return error_at(l, node, "%s must be 1 to %zu characters", what, len - 1);
	memcpy(buf, scalar(node), strlen(scalar(node)) + 1);
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx"; sscanf would also take signs, "0x" and blanks. */
static bool mac_from_string(const char *s, uint8_t mac[6])
{
	unsigned int i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 6; i++, s += 3) {
		int hi = hex_digit(s[0]), lo = hex_digit(s[1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int parse_mac(struct loader *l, yaml_node_t *node, uint8_t mac[6])
{
	static const uint8_t zero[6];

	if (expect(l, node, YAML_SCALAR_NODE))
		return -1;
	if (!mac_from_string(scalar(node), mac))
		return error_at(l, node, "invalid MAC address '%s': expected xx:xx:xx:xx:xx:xx",
				scalar(node));
	if (mac[0] & 1)
		return error_at(l, node, "MAC address '%s' is multicast", scalar(node));
	if (!memcmp(mac, zero, 6))
		return error_at(l, node, "MAC address '%s' is all zeros", scalar(node));
	return 0;
}

static bool ip_from_string(const char *s, struct cfg_ip *ip)
{
	struct in_addr a4;

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &a4) == 1) {
		ip->family = AF_INET;
		ip->v4 = ntohl(a4.s_addr);
		return true;
	}
	if (inet_pton(AF_INET6, s, ip->v6) == 1) {
		ip->family = AF_INET6;
		return true;
	}
	return false;
}

static int parse_ip(struct loader *l, yaml_node_t *node, struct cfg_ip *ip)
{
	if (expect(l, node, YAML_SCALAR_NODE))
		return -1;
	if (!ip_from_string(scalar(node), ip))
		return error_at(l, node, "invalid IP address '%s'", scalar(node));
	return 0;
}

static unsigned int family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* "ADDR/LEN" of either family, LEN from MIN_LEN to the family's width. */
static int parse_prefix(struct loader *l, yaml_node_t *node, unsigned int min_len,
			struct cfg_prefix *p)
{
	char addr[INET6_ADDRSTRLEN];
	const char *s, *slash;
	unsigned long len;
	char *end;

	if (expect(l, node, YAML_SCALAR_NODE))
		return -1;
	s = scalar(node);
	slash = strchr(s, '/');
	if (!slash)
		return error_at(l, node, "invalid prefix '%s': expected ADDRESS/LENGTH", s);
	if ((size_t)(slash - s) >= sizeof(addr))
		return error_at(l, node, "invalid IP address in '%s'", s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (!ip_from_string(addr, &p->addr))
		return error_at(l, node, "invalid IP address '%s' in '%s'", addr, s);
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (!isdigit((unsigned char)slash[1]) || *end || errno || len < min_len ||
	    len > family_bits(p->addr.family))
		return error_at(l, node, "invalid prefix length in '%s': expected %u to %u", s,
				min_len, family_bits(p->addr.family));
	p->len = (uint8_t)len;
	return 0;
}

/* Keep the first LEN bits of IP. */
static void ip_mask(struct cfg_ip *ip, unsigned int len)
{
	unsigned int i;

	if (ip->family == AF_INET) {
		ip->v4 &= len ? UINT32_MAX << (32 - len) : 0; /* a shift by 32 would be UB */
		return;
	}
	for (i = 0; i < 16; i++) {
		unsigned int bits = len > i * 8 ? len - i * 8 : 0;

		if (bits < 8)
			ip->v6[i] &= (uint8_t)(0xff00 >> bits);
	}
}

bool cfg_ip_equal(const struct cfg_ip *a, const struct cfg_ip *b)
{
	if (a->family != b->family)
		return false;
	return a->family == AF_INET ? a->v4 == b->v4 : !memcmp(a->v6, b->v6, 16);
}

static bool prefix_equal(const struct cfg_prefix *a, const struct cfg_prefix *b)
{
	return a->len == b->len && cfg_ip_equal(&a->addr, &b->addr);
}

/* A prefix with its host bits cleared. */
struct cfg_prefix cfg_prefix_network(const struct cfg_prefix *p)
{
	struct cfg_prefix net = *p;
	unsigned int i;

	if (p->addr.family == AF_INET) {
		net.addr.v4 = p->len ? p->addr.v4 & ~(UINT32_MAX >> p->len) : 0;
		return net;
	}
	for (i = 0; i < 16; i++) {
		unsigned int bits = p->len > i * 8 ? p->len - i * 8 : 0;

		if (bits < 8)
			net.addr.v6[i] &= (uint8_t)(0xff00 >> bits);
	}
	return net;
}

bool cfg_prefix_contains(const struct cfg_prefix *prefix, const struct cfg_ip *addr)
{
	struct cfg_ip a = *addr, net = prefix->addr;

	if (addr->family != prefix->addr.family)
		return false;
	ip_mask(&a, prefix->len);
	ip_mask(&net, prefix->len);
	return cfg_ip_equal(&a, &net);
}

const char *cfg_ip_format(const struct cfg_ip *ip, char *buf, size_t len)
{
	uint32_t be;

	if (ip->family == AF_INET) {
		be = htonl(ip->v4);
		if (inet_ntop(AF_INET, &be, buf, (socklen_t)len))
			return buf;
	} else if (inet_ntop(AF_INET6, ip->v6, buf, (socklen_t)len)) {
		return buf;
	}
	if (len)
		snprintf(buf, len, "?");
	return buf;
}

/* "192.0.2.0/24" into BUF, for messages. */
static const char *prefix_format(const struct cfg_prefix *p, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", cfg_ip_format(&p->addr, ip, sizeof(ip)), p->len);
	return buf;
}

int config_port_index(const struct config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->n_ports; i++)
		if (!strcmp(cfg->ports[i].name, name))
			return (int)i;
	return -1;
}

/* ---- ports ---- */

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static int port_name(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_port *p = obj;
	const char *c;

	if (parse_string(l, v, p->name, sizeof(p->name), "a port name"))
		return -1;
	/* Names show up in logs, stats and CLI arguments: keep them plain. */
	for (c = p->name; *c; c++)
		if (!is_name_char(*c))
			return error_at(l, v, "port name '%s': use letters, digits, '_', '-', '.'",
					p->name);
	if (config_port_index(l->cfg, p->name) >= 0)
		return error_at(l, v, "duplicate port name '%s'", p->name);
	return 0;
}

static int port_device(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_port *p = obj;

	p->device_loc = loc_of(v);
	return parse_string(l, v, p->device, sizeof(p->device), "a device name");
}

static int port_mac(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_port *p = obj;

	p->has_mac = true;
	p->mac_loc = loc_of(v);
	return parse_mac(l, v, p->mac);
}

static int port_mtu(struct loader *l, yaml_node_t *v, void *obj)
{
	unsigned long mtu;

	if (parse_uint(l, v, 68, 16110, &mtu)) /* RFC 791 minimum .. largest NIC jumbo */
		return -1;
	((struct cfg_port *)obj)->mtu = (uint16_t)mtu;
	((struct cfg_port *)obj)->mtu_loc = loc_of(v);
	return 0;
}

/* An interface address written as its subnet ("192.168.1.0/24") is a typo for a host
 * address, and a broadcast one would make us answer for the whole subnet. /31, /32
 * (and /127, /128) have no such addresses. */
static int check_host_address(struct loader *l, yaml_node_t *node, const struct cfg_prefix *a)
{
	unsigned int bits = family_bits(a->addr.family);
	struct cfg_ip net = a->addr;

	if (a->len >= bits - 1)
		return 0;
	ip_mask(&net, a->len);
	if (cfg_ip_equal(&net, &a->addr))
		return error_at(l, node, "%s is a subnet address; an interface needs a host address",
				scalar(node));
	if (a->addr.family == AF_INET && (a->addr.v4 | (UINT32_MAX << (32 - a->len))) == UINT32_MAX)
		return error_at(l, node,
				"%s is a broadcast address; an interface needs a host address",
				scalar(node));
	return 0;
}

/* "port 'lan'" for messages; the port being parsed may not have its name yet. */
static const char *port_label(const struct cfg_port *port, const struct cfg_port *self,
			      char *buf, size_t len)
{
	if (port == self)
		return "this port";
	snprintf(buf, len, "port '%s'", port->name);
	return buf;
}

/* One FIB holds all connected subnets, so the same address anywhere, or the same subnet
 * on two ports, would make one of them unreachable. A second address in a subnet of the
 * same port is fine, and so is IPv6 link-local (fe80::/10), the same on every link by
 * design. */
static int check_address_unique(struct loader *l, yaml_node_t *node,
				const struct cfg_prefix *a, const struct cfg_port *self)
{
	const struct config *cfg = l->cfg;
	bool link_local = a->addr.family == AF_INET6 && a->addr.v6[0] == 0xfe &&
			  (a->addr.v6[1] & 0xc0) == 0x80;
	struct cfg_prefix net = *a, other;
	char buf[INET6_ADDRSTRLEN + 4], label[CFG_NAME_MAX + 8];
	unsigned int p, i, n;

	ip_mask(&net.addr, net.len);
	for (p = 0; p <= cfg->n_ports; p++) {
		const struct cfg_port *port = p < cfg->n_ports ? &cfg->ports[p] : self;
		const struct cfg_prefix *addrs = a->addr.family == AF_INET ? port->ipv4 : port->ipv6;

		n = a->addr.family == AF_INET ? port->n_ipv4 : port->n_ipv6;
		for (i = 0; i < n; i++) {
			if (cfg_ip_equal(&addrs[i].addr, &a->addr))
				return error_at(l, node, "address %s is already on %s",
						cfg_ip_format(&a->addr, buf, sizeof(buf)),
						port_label(port, self, label, sizeof(label)));
			other = addrs[i];
			ip_mask(&other.addr, other.len);
			if (port != self && !link_local && prefix_equal(&other, &net))
				return error_at(l, node, "subnet %s is already connected on %s",
						prefix_format(&net, buf, sizeof(buf)),
						port_label(port, self, label, sizeof(label)));
		}
	}
	return 0;
}

static int port_addr(struct loader *l, yaml_node_t *node, struct cfg_port *p, int family)
{
	struct cfg_prefix *a = family == AF_INET ? &p->ipv4[p->n_ipv4] : &p->ipv6[p->n_ipv6];

	if (parse_prefix(l, node, 1, a))
		return -1;
	if (a->addr.family != family)
		return error_at(l, node, "'%s' is not an %s address", scalar(node),
				family == AF_INET ? "IPv4" : "IPv6");
	if (check_host_address(l, node, a) || check_address_unique(l, node, a, p))
		return -1;
	if (family == AF_INET)
		p->n_ipv4++;
	else
		p->n_ipv6++;
	return 0;
}

static int port_addrs(struct loader *l, yaml_node_t *list, struct cfg_port *p, int family)
{
	yaml_node_item_t *item;

	if (expect(l, list, YAML_SEQUENCE_NODE))
		return -1;
	if (list_len(list) > CFG_MAX_PORT_ADDRS)
		return error_at(l, list, "at most %d addresses per family", CFG_MAX_PORT_ADDRS);
	for (item = list->data.sequence.items.start; item < list->data.sequence.items.top; item++)
		if (port_addr(l, node_at(l, *item), p, family))
			return -1;
	return 0;
}

static int port_ipv4(struct loader *l, yaml_node_t *v, void *obj)
{
	return port_addrs(l, v, obj, AF_INET);
}

static int port_ipv6(struct loader *l, yaml_node_t *v, void *obj)
{
	return port_addrs(l, v, obj, AF_INET6);
}

static int parse_port(struct loader *l, yaml_node_t *node)
{
	static const struct field fields[] = {
		{ "name", port_name, true },  { "device", port_device, true },
		{ "mac", port_mac, false },   { "mtu", port_mtu, false },
		{ "ipv4", port_ipv4, false }, { "ipv6", port_ipv6, false },
		{ NULL, NULL, false },
	};
	struct cfg_port *p;

	if (l->cfg->n_ports == CFG_MAX_PORTS)
		return error_at(l, node, "at most %d ports", CFG_MAX_PORTS);
	/* Filled in place but only counted once complete, so lookups see finished ports. */
	p = &l->cfg->ports[l->cfg->n_ports];
	memset(p, 0, sizeof(*p));
	p->mtu = 1500;
	p->loc = loc_of(node);
	if (parse_mapping(l, node, fields, p))
		return -1;
	l->cfg->n_ports++;
	return 0;
}

/* ---- neighbours and routes: both refer to ports and their subnets ---- */

/* Index of the port whose connected subnet covers IP, longest prefix first, the first
 * port on a tie; -1 if none. ONLY_PORT >= 0 looks at that port alone. */
int config_connected_port(const struct config *cfg, const struct cfg_ip *ip, int only_port)
{
	int best = -1, best_len = -1;
	unsigned int p, i;

	for (p = 0; p < cfg->n_ports; p++) {
		const struct cfg_port *port = &cfg->ports[p];
		const struct cfg_prefix *addrs = ip->family == AF_INET ? port->ipv4 : port->ipv6;
		unsigned int n = ip->family == AF_INET ? port->n_ipv4 : port->n_ipv6;

		if (only_port >= 0 && (int)p != only_port)
			continue;
		for (i = 0; i < n; i++)
			if (cfg_prefix_contains(&addrs[i], ip) && addrs[i].len > best_len) {
				best = (int)p;
				best_len = addrs[i].len;
			}
	}
	return best;
}

static bool is_own_address(const struct config *cfg, const struct cfg_ip *ip)
{
	unsigned int p, i;

	for (p = 0; p < cfg->n_ports; p++) {
		const struct cfg_port *port = &cfg->ports[p];

		for (i = 0; i < port->n_ipv4; i++)
			if (cfg_ip_equal(&port->ipv4[i].addr, ip))
				return true;
		for (i = 0; i < port->n_ipv6; i++)
			if (cfg_ip_equal(&port->ipv6[i].addr, ip))
				return true;
	}
	return false;
}

struct neighbour_ctx {
	struct cfg_neighbour n;
	yaml_node_t *ip_node;
};

static int neigh_ip(struct loader *l, yaml_node_t *v, void *obj)
{
	struct neighbour_ctx *c = obj;

	c->ip_node = v;
	return parse_ip(l, v, &c->n.ip);
}

static int neigh_mac(struct loader *l, yaml_node_t *v, void *obj)
{
	return parse_mac(l, v, ((struct neighbour_ctx *)obj)->n.mac);
}

static int neigh_port(struct loader *l, yaml_node_t *v, void *obj)
{
	struct neighbour_ctx *c = obj;
	int idx;

	if (expect(l, v, YAML_SCALAR_NODE))
		return -1;
	idx = config_port_index(l->cfg, scalar(v));
	if (idx < 0)
		return error_at(l, v, "unknown port '%s'", scalar(v));
	c->n.port = (unsigned int)idx;
	return 0;
}

static int parse_neighbour(struct loader *l, yaml_node_t *node)
{
	static const struct field fields[] = {
		{ "ip", neigh_ip, true }, { "mac", neigh_mac, true }, { "port", neigh_port, true },
		{ NULL, NULL, false },
	};
	struct config *cfg = l->cfg;
	struct neighbour_ctx c;
	char ip[INET6_ADDRSTRLEN];
	unsigned int i;

	memset(&c, 0, sizeof(c));
	if (parse_mapping(l, node, fields, &c))
		return -1;
	cfg_ip_format(&c.n.ip, ip, sizeof(ip));
	if (config_connected_port(cfg, &c.n.ip, (int)c.n.port) < 0)
		return error_at(l, c.ip_node, "neighbour %s is not on a connected subnet of port '%s'",
				ip, cfg->ports[c.n.port].name);
	if (is_own_address(cfg, &c.n.ip))
		return error_at(l, c.ip_node, "neighbour %s is one of dpfwd's own addresses", ip);
	for (i = 0; i < cfg->n_neighbours; i++)
		if (cfg_ip_equal(&cfg->neighbours[i].ip, &c.n.ip))
			return error_at(l, c.ip_node, "duplicate neighbour %s", ip);
	c.n.loc = loc_of(node);
	cfg->neighbours[cfg->n_neighbours++] = c.n;
	return 0;
}

struct route_ctx {
	struct cfg_route r;
	yaml_node_t *prefix_node, *via_key, *action_key;
	yaml_node_t *via_nodes[CFG_MAX_ECMP];
};

static int route_prefix(struct loader *l, yaml_node_t *v, void *obj)
{
	struct route_ctx *c = obj;
	struct cfg_ip net;
	char buf[INET6_ADDRSTRLEN];

	c->prefix_node = v;
	if (parse_prefix(l, v, 0, &c->r.prefix))
		return -1;
	/* A route to "10.0.0.1/8" is ambiguous: a typo in the address or in the length. */
	net = c->r.prefix.addr;
	ip_mask(&net, c->r.prefix.len);
	if (!cfg_ip_equal(&net, &c->r.prefix.addr))
		return error_at(l, v, "prefix %s has host bits set; did you mean %s/%u?",
				scalar(v), cfg_ip_format(&net, buf, sizeof(buf)),
				c->r.prefix.len);
	return 0;
}

static int route_via_one(struct loader *l, struct route_ctx *c, yaml_node_t *node)
{
	c->via_nodes[c->r.n_via] = node;
	return parse_ip(l, node, &c->r.via[c->r.n_via++]);
}

static int route_via(struct loader *l, yaml_node_t *v, void *obj)
{
	struct route_ctx *c = obj;
	yaml_node_item_t *item;

	c->via_key = l->key;
	if (v->type == YAML_SCALAR_NODE)
		return route_via_one(l, c, v);
	if (v->type != YAML_SEQUENCE_NODE || list_len(v) < 1 || list_len(v) > CFG_MAX_ECMP)
		return error_at(l, v, "expected an address or a list of 1 to %d addresses",
				CFG_MAX_ECMP);
	for (item = v->data.sequence.items.start; item < v->data.sequence.items.top; item++)
		if (route_via_one(l, c, node_at(l, *item)))
			return -1;
	return 0;
}

static int route_action(struct loader *l, yaml_node_t *v, void *obj)
{
	struct route_ctx *c = obj;

	c->action_key = l->key;
	if (expect(l, v, YAML_SCALAR_NODE))
		return -1;
	if (!strcmp(scalar(v), "blackhole"))
		c->r.action = CFG_ROUTE_BLACKHOLE;
	else if (!strcmp(scalar(v), "unreachable"))
		c->r.action = CFG_ROUTE_UNREACHABLE;
	else
		return error_at(l, v, "unknown action '%s': expected blackhole or unreachable",
				scalar(v));
	return 0;
}

/* One next hop: same family as the prefix, on a connected subnet, not ourselves, not
 * listed twice (a repeat would silently double its share of ECMP traffic). */
static int route_resolve_via(struct loader *l, struct route_ctx *c, unsigned int i)
{
	const struct cfg_ip *via = &c->r.via[i];
	yaml_node_t *node = c->via_nodes[i];
	char ip[INET6_ADDRSTRLEN];
	unsigned int j;
	int port;

	cfg_ip_format(via, ip, sizeof(ip));
	if (via->family != c->r.prefix.addr.family)
		return error_at(l, node, "next hop %s is %s but prefix %s is %s", ip,
				via->family == AF_INET ? "IPv4" : "IPv6", scalar(c->prefix_node),
				via->family == AF_INET ? "IPv6" : "IPv4");
	for (j = 0; j < i; j++)
		if (cfg_ip_equal(&c->r.via[j], via))
			return error_at(l, node, "duplicate next hop %s", ip);
	if (is_own_address(l->cfg, via))
		return error_at(l, node, "next hop %s is one of dpfwd's own addresses", ip);
	port = config_connected_port(l->cfg, via, -1);
	if (port < 0)
		return error_at(l, node, "next hop %s is not on any connected subnet", ip);
	c->r.via_port[i] = (unsigned int)port;
	return 0;
}

static yaml_node_t *later(yaml_node_t *a, yaml_node_t *b)
{
	if (a->start_mark.index > b->start_mark.index)
		return a;
	return b;
}

static uint32_t prefix_hash(const struct cfg_prefix *p)
{
	const uint8_t *b = p->addr.family == AF_INET ? (const uint8_t *)&p->addr.v4 : p->addr.v6;
	unsigned int i, n = p->addr.family == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u ^ p->len ^ (uint32_t)p->addr.family << 8; /* FNV-1a */

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* Whether an earlier route has prefix P; if not, P (the next route, cfg->n_routes) is
 * remembered. The table has room for twice the list's routes. */
static bool route_seen(struct loader *l, const struct cfg_prefix *p)
{
	const struct config *cfg = l->cfg;
	uint32_t i;

	for (i = prefix_hash(p) & l->route_mask; l->route_slots[i]; i = (i + 1) & l->route_mask)
		if (prefix_equal(&cfg->routes[l->route_slots[i] - 1].prefix, p))
			return true;
	l->route_slots[i] = cfg->n_routes + 1;
	return false;
}

static int parse_route(struct loader *l, yaml_node_t *node)
{
	static const struct field fields[] = {
		{ "prefix", route_prefix, true }, { "via", route_via, false },
		{ "action", route_action, false }, { NULL, NULL, false },
	};
	struct config *cfg = l->cfg;
	struct route_ctx c;
	unsigned int i;

	memset(&c, 0, sizeof(c));
	if (parse_mapping(l, node, fields, &c))
		return -1;
	if (c.via_key && c.action_key)
		return error_at(l, later(c.via_key, c.action_key),
				"a route takes 'via' or 'action', not both");
	if (!c.via_key && !c.action_key)
		return error_at(l, node, "a route needs 'via' or 'action'");
	for (i = 0; i < c.r.n_via; i++)
		if (route_resolve_via(l, &c, i))
			return -1;
	if (route_seen(l, &c.r.prefix))
		return error_at(l, c.prefix_node, "duplicate route for %s", scalar(c.prefix_node));
	c.r.loc = loc_of(node);
	cfg->routes[cfg->n_routes++] = c.r;
	return 0;
}

/* ---- dataplane ---- */

static int dp_burst(struct loader *l, yaml_node_t *v, void *obj)
{
	unsigned long n;

	if (parse_uint(l, v, 1, 256, &n))
		return -1;
	((struct cfg_dataplane *)obj)->burst = (uint16_t)n;
	((struct cfg_dataplane *)obj)->burst_loc = loc_of(v);
	return 0;
}

static int dp_mbufs(struct loader *l, yaml_node_t *v, void *obj)
{
	unsigned long n;

	if (parse_uint(l, v, 1024, 16777215, &n))
		return -1;
	((struct cfg_dataplane *)obj)->mbufs = (uint32_t)n;
	((struct cfg_dataplane *)obj)->mbufs_loc = loc_of(v);
	return 0;
}

/* ---- slow path ---- */

static int sp_neighbour_timeout(struct loader *l, yaml_node_t *v, void *obj)
{
	unsigned long n;

	if (parse_uint(l, v, 1, 86400, &n))
		return -1;
	((struct cfg_slow_path *)obj)->neighbour_timeout = (uint32_t)n;
	return 0;
}

static int sp_icmp_rate(struct loader *l, yaml_node_t *v, void *obj)
{
	unsigned long n;

	if (parse_uint(l, v, 0, 1000000, &n))
		return -1;
	((struct cfg_slow_path *)obj)->icmp_rate = (uint32_t)n;
	return 0;
}

static int sp_icmp_burst(struct loader *l, yaml_node_t *v, void *obj)
{
	unsigned long n;

	if (parse_uint(l, v, 1, 1000000, &n))
		return -1;
	((struct cfg_slow_path *)obj)->icmp_burst = (uint32_t)n;
	return 0;
}

static int sp_neighbours(struct loader *l, yaml_node_t *v, void *obj)
{
	unsigned long n;

	if (parse_uint(l, v, 16, 1048576, &n))
		return -1;
	((struct cfg_slow_path *)obj)->neighbours = (uint32_t)n;
	return 0;
}

/* ---- top level ---- */

/* Sections are parsed in this order whatever their order in the file: neighbours and
 * routes refer to ports. */
struct sections {
	yaml_node_t *ports, *neighbours, *routes, *dataplane, *slow_path, *nat, *nat_key;
	yaml_node_t *metrics;
};

static int top_ports(struct loader *l, yaml_node_t *v, void *obj)
{
	(void)l;
	((struct sections *)obj)->ports = v;
	return 0;
}

static int top_neighbours(struct loader *l, yaml_node_t *v, void *obj)
{
	(void)l;
	((struct sections *)obj)->neighbours = v;
	return 0;
}

static int top_routes(struct loader *l, yaml_node_t *v, void *obj)
{
	(void)l;
	((struct sections *)obj)->routes = v;
	return 0;
}

static int top_dataplane(struct loader *l, yaml_node_t *v, void *obj)
{
	(void)l;
	((struct sections *)obj)->dataplane = v;
	return 0;
}

static int top_slow_path(struct loader *l, yaml_node_t *v, void *obj)
{
	(void)l;
	((struct sections *)obj)->slow_path = v;
	return 0;
}

static int top_metrics(struct loader *l, yaml_node_t *v, void *obj)
{
	(void)l;
	((struct sections *)obj)->metrics = v;
	return 0;
}

static int top_nat(struct loader *l, yaml_node_t *v, void *obj)
{
	((struct sections *)obj)->nat = v;
	((struct sections *)obj)->nat_key = l->key;
	return 0;
}

static int load_ports(struct loader *l, yaml_node_t *v)
{
	if (parse_list(l, v, parse_port))
		return -1;
	if (l->cfg->n_ports == 0)
		return error_at(l, v, "at least one port is needed");
	return 0;
}

/* Room for every item of list V; NULL after writing the error. */
static void *alloc_for_list(struct loader *l, yaml_node_t *v, size_t size)
{
	void *array;

	if (expect(l, v, YAML_SEQUENCE_NODE))
		return NULL;
	array = calloc(list_len(v) ? list_len(v) : 1, size);
	if (!array)
		error_at(l, v, "out of memory");
	return array;
}

/* route_seen's table for the list of routes V. */
static int routes_index(struct loader *l, yaml_node_t *v)
{
	uint32_t size = 16;

	while (size < 2u * list_len(v))
		size *= 2;
	l->route_slots = calloc(size, sizeof(*l->route_slots));
	if (!l->route_slots)
		return error_at(l, v, "out of memory");
	l->route_mask = size - 1;
	return 0;
}

/* ---- nat ---- */

/* A network prefix of FAMILY (0: either), MIN_LEN to MAX_LEN bits, host bits clear:
 * "10.0.0.1/8" is ambiguous (a typo in the address or in the length). */
static int parse_network(struct loader *l, yaml_node_t *v, int family, unsigned int min_len,
			 unsigned int max_len, struct cfg_prefix *p)
{
	char buf[INET6_ADDRSTRLEN];
	struct cfg_ip net;

	if (parse_prefix(l, v, 0, p))
		return -1;
	if (family && p->addr.family != family)
		return error_at(l, v, "expected an %s prefix", family == AF_INET ? "IPv4" : "IPv6");
	if (p->len < min_len || p->len > max_len)
		return error_at(l, v, "prefix length must be %u to %u", min_len, max_len);
	net = p->addr;
	ip_mask(&net, p->len);
	if (!cfg_ip_equal(&net, &p->addr))
		return error_at(l, v, "prefix %s has host bits set; did you mean %s/%u?",
				scalar(v), cfg_ip_format(&net, buf, sizeof(buf)), p->len);
	return 0;
}

static int parse_ipv4(struct loader *l, yaml_node_t *v, uint32_t *out)
{
	struct cfg_ip ip;

	if (parse_ip(l, v, &ip))
		return -1;
	if (ip.family != AF_INET)
		return error_at(l, v, "expected an IPv4 address");
	*out = ip.v4;
	return 0;
}

static int parse_port_name(struct loader *l, yaml_node_t *v, unsigned int *port)
{
	int i;

	if (expect(l, v, YAML_SCALAR_NODE))
		return -1;
	i = config_port_index(l->cfg, scalar(v));
	if (i < 0)
		return error_at(l, v, "unknown port '%s'", scalar(v));
	*port = (unsigned int)i;
	return 0;
}

/* "A-B" or "A" (B = A) into two halves; false if S does not have that shape. */
static bool split_range(const char *s, char *a, char *b, size_t len)
{
	const char *dash = strchr(s, '-');

	if (!dash) {
		snprintf(a, len, "%s", s);
		snprintf(b, len, "%s", s);
		return strlen(s) < len;
	}
	if ((size_t)(dash - s) >= len || strlen(dash + 1) >= len)
		return false;
	snprintf(a, len, "%.*s", (int)(dash - s), s);
	snprintf(b, len, "%s", dash + 1);
	return true;
}

static int snat_from(struct loader *l, yaml_node_t *v, void *obj)
{
	return parse_network(l, v, AF_INET, 0, 32, &((struct cfg_snat *)obj)->from);
}

static int snat_out(struct loader *l, yaml_node_t *v, void *obj)
{
	return parse_port_name(l, v, &((struct cfg_snat *)obj)->out);
}

/* pool: [FIRST-LAST] (or [ADDRESS]): one range of IPv4 addresses. */
static int snat_pool(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_snat *r = obj;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	struct cfg_ip first, last;
	yaml_node_t *item;

	if (expect(l, v, YAML_SEQUENCE_NODE))
		return -1;
	if (list_len(v) != 1)
		return error_at(l, v, "expected one address range: [FIRST-LAST]");
	item = node_at(l, *v->data.sequence.items.start);
	if (expect(l, item, YAML_SCALAR_NODE))
		return -1;
	if (!split_range(scalar(item), a, b, sizeof(a)) || !ip_from_string(a, &first) ||
	    !ip_from_string(b, &last) || first.family != AF_INET || last.family != AF_INET)
		return error_at(l, item, "invalid address range '%s': expected IPv4 FIRST-LAST",
				scalar(item));
	if (first.v4 > last.v4)
		return error_at(l, item, "address range '%s' ends before it starts", scalar(item));
	if (last.v4 - first.v4 >= CFG_MAX_POOL_ADDRS)
		return error_at(l, item, "address range '%s' holds %" PRIu64 " addresses: at most %u",
				scalar(item), (uint64_t)last.v4 - first.v4 + 1, CFG_MAX_POOL_ADDRS);
	r->pool_first = first.v4;
	r->pool_last = last.v4;
	return 0;
}

/* ports: FIRST-LAST (or one port), within 1-65535. */
static int snat_ports(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_snat *r = obj;
	char a[16], b[16], *end_a, *end_b;
	unsigned long first, last;

	if (expect(l, v, YAML_SCALAR_NODE))
		return -1;
	if (!split_range(scalar(v), a, b, sizeof(a)) || !isdigit((unsigned char)a[0]) ||
	    !isdigit((unsigned char)b[0]))
		return error_at(l, v, "invalid port range '%s': expected FIRST-LAST", scalar(v));
	first = strtoul(a, &end_a, 10);
	last = strtoul(b, &end_b, 10);
	if (*end_a || *end_b || first < 1 || last > 65535 || first > last)
		return error_at(l, v, "invalid port range '%s': expected FIRST-LAST within 1-65535",
				scalar(v));
	r->port_first = (uint16_t)first;
	r->port_last = (uint16_t)last;
	return 0;
}

static int parse_snat(struct loader *l, yaml_node_t *node)
{
	static const struct field fields[] = {
		{ "from", snat_from, true },   { "out", snat_out, true },
		{ "pool", snat_pool, true },   { "ports", snat_ports, false },
		{ NULL, NULL, false },
	};
	struct cfg_nat *nat = &l->cfg->nat;
	struct cfg_snat r = { .port_first = 1024, .port_last = 65535, .loc = loc_of(node) };
	uint64_t pool_addrs;
	unsigned int i;

	if (parse_mapping(l, node, fields, &r))
		return -1;
	/* A worker keeps a port bitmap (8 KB) per pool address it hands ports of. */
	pool_addrs = (uint64_t)r.pool_last - r.pool_first + 1;
	for (i = 0; i < nat->n_snat; i++)
		pool_addrs += nat->snat[i].pool_last - nat->snat[i].pool_first + 1;
	if (pool_addrs > CFG_MAX_POOL_ADDRS)
		return error_at(l, node, "the snat pools hold %" PRIu64 " addresses in all: at most %u",
				pool_addrs, CFG_MAX_POOL_ADDRS);
	nat->snat[nat->n_snat++] = r;
	return 0;
}

/* "ADDRESS:PORT", IPv4. */
static int parse_endpoint(struct loader *l, yaml_node_t *v, uint32_t *ip, uint16_t *port)
{
	char addr[INET_ADDRSTRLEN], *end;
	const char *s, *colon;
	struct cfg_ip a;
	unsigned long p;

	if (expect(l, v, YAML_SCALAR_NODE))
		return -1;
	s = scalar(v);
	colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(addr))
		return error_at(l, v, "invalid endpoint '%s': expected IPv4ADDRESS:PORT", s);
	snprintf(addr, sizeof(addr), "%.*s", (int)(colon - s), s);
	p = strtoul(colon + 1, &end, 10);
	if (!ip_from_string(addr, &a) || a.family != AF_INET ||
	    !isdigit((unsigned char)colon[1]) || *end || p < 1 || p > 65535)
		return error_at(l, v, "invalid endpoint '%s': expected IPv4ADDRESS:PORT", s);
	*ip = a.v4;
	*port = (uint16_t)p;
	return 0;
}

struct dnat_ctx {
	struct cfg_dnat r; /* first: the field parsers take either */
	yaml_node_t *match;
};

static int dnat_proto(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_dnat *r = obj;

	if (expect(l, v, YAML_SCALAR_NODE))
		return -1;
	if (!strcmp(scalar(v), "tcp"))
		r->proto = IPPROTO_TCP;
	else if (!strcmp(scalar(v), "udp"))
		r->proto = IPPROTO_UDP;
	else
		return error_at(l, v, "unknown proto '%s': expected tcp or udp", scalar(v));
	return 0;
}

static int dnat_match(struct loader *l, yaml_node_t *v, void *obj)
{
	struct dnat_ctx *c = obj;

	c->match = v; /* a duplicate is reported at its match */
	return parse_endpoint(l, v, &c->r.match_ip, &c->r.match_port);
}

static int dnat_to(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_dnat *r = obj;

	return parse_endpoint(l, v, &r->to_ip, &r->to_port);
}

static int parse_dnat(struct loader *l, yaml_node_t *node)
{
	static const struct field fields[] = {
		{ "proto", dnat_proto, true }, { "match", dnat_match, true },
		{ "to", dnat_to, true },       { NULL, NULL, false },
	};
	struct cfg_nat *nat = &l->cfg->nat;
	struct dnat_ctx c = { .r = { .loc = loc_of(node) } };
	unsigned int i;

	if (parse_mapping(l, node, fields, &c))
		return -1;
	for (i = 0; i < nat->n_dnat; i++)
		if (nat->dnat[i].proto == c.r.proto && nat->dnat[i].match_ip == c.r.match_ip &&
		    nat->dnat[i].match_port == c.r.match_port)
			return error_at(l, c.match, "duplicate port forward for %s", scalar(c.match));
	nat->dnat[nat->n_dnat++] = c.r;
	return 0;
}

static int static_inside(struct loader *l, yaml_node_t *v, void *obj)
{
	return parse_ipv4(l, v, &((struct cfg_static_nat *)obj)->inside);
}

static int static_outside(struct loader *l, yaml_node_t *v, void *obj)
{
	return parse_ipv4(l, v, &((struct cfg_static_nat *)obj)->outside);
}

static int parse_static(struct loader *l, yaml_node_t *node)
{
	static const struct field fields[] = {
		{ "inside", static_inside, true }, { "outside", static_outside, true },
		{ NULL, NULL, false },
	};
	struct cfg_nat *nat = &l->cfg->nat;
	struct cfg_static_nat r = { .loc = loc_of(node) };
	unsigned int i;

	if (parse_mapping(l, node, fields, &r))
		return -1;
	for (i = 0; i < nat->n_static; i++) {
		if (nat->statics[i].inside == r.inside)
			return error_at(l, node, "inside address used by another 1:1 rule");
		if (nat->statics[i].outside == r.outside)
			return error_at(l, node, "outside address used by another 1:1 rule");
	}
	nat->statics[nat->n_static++] = r;
	return 0;
}

/* RFC 6296: prefixes up to /64 (the translation adjusts a word past the prefix). */
static int npt_inside(struct loader *l, yaml_node_t *v, void *obj)
{
	return parse_network(l, v, AF_INET6, 1, 64, &((struct cfg_nptv6 *)obj)->inside);
}

static int npt_outside(struct loader *l, yaml_node_t *v, void *obj)
{
	return parse_network(l, v, AF_INET6, 1, 64, &((struct cfg_nptv6 *)obj)->outside);
}

static int npt_port(struct loader *l, yaml_node_t *v, void *obj)
{
	return parse_port_name(l, v, &((struct cfg_nptv6 *)obj)->port);
}

static int parse_nptv6(struct loader *l, yaml_node_t *node)
{
	static const struct field fields[] = {
		{ "inside", npt_inside, true }, { "outside", npt_outside, true },
		{ "port", npt_port, true },     { NULL, NULL, false },
	};
	struct cfg_nat *nat = &l->cfg->nat;
	struct cfg_nptv6 r = { .loc = loc_of(node) };

	if (parse_mapping(l, node, fields, &r))
		return -1;
	if (r.inside.len != r.outside.len)
		return error_at(l, node, "inside and outside prefixes must have the same length");
	nat->nptv6[nat->n_nptv6++] = r;
	return 0;
}

/* NAT timeouts, seconds: at most CFG_NAT_TIMEOUT_MAX (11.5 days), so that NAPT's 32-bit
 * session clock of about 1 ms ticks never wraps within two of them. */
static int timeout_field(struct loader *l, yaml_node_t *v, uint32_t *out)
{
	unsigned long n;

	if (parse_uint(l, v, 1, CFG_NAT_TIMEOUT_MAX, &n))
		return -1;
	*out = (uint32_t)n;
	return 0;
}

static int to_tcp_est(struct loader *l, yaml_node_t *v, void *obj)
{
	return timeout_field(l, v, &((struct cfg_nat_timeouts *)obj)->tcp_established);
}

static int to_tcp_trans(struct loader *l, yaml_node_t *v, void *obj)
{
	return timeout_field(l, v, &((struct cfg_nat_timeouts *)obj)->tcp_transitory);
}

static int to_udp(struct loader *l, yaml_node_t *v, void *obj)
{
	return timeout_field(l, v, &((struct cfg_nat_timeouts *)obj)->udp);
}

static int to_icmp(struct loader *l, yaml_node_t *v, void *obj)
{
	return timeout_field(l, v, &((struct cfg_nat_timeouts *)obj)->icmp);
}

static int nat_timeouts(struct loader *l, yaml_node_t *v, void *obj)
{
	static const struct field fields[] = {
		{ "tcp_established", to_tcp_est, false }, { "tcp_transitory", to_tcp_trans, false },
		{ "udp", to_udp, false },                 { "icmp", to_icmp, false },
		{ NULL, NULL, false },
	};

	return parse_mapping(l, v, fields, &((struct cfg_nat *)obj)->timeouts);
}

static int nat_max_sessions(struct loader *l, yaml_node_t *v, void *obj)
{
	unsigned long n;

	if (parse_uint(l, v, 1, 1ul << 24, &n))
		return -1;
	((struct cfg_nat *)obj)->max_sessions = (uint32_t)n;
	((struct cfg_nat *)obj)->max_sessions_loc = loc_of(v);
	return 0;
}

static int nat_filtering(struct loader *l, yaml_node_t *v, void *obj)
{
	static const char *const words[] = {
		[CFG_NAT_FILTER_ADDRESS] = "address-dependent",
		[CFG_NAT_FILTER_ENDPOINT] = "endpoint-independent",
		[CFG_NAT_FILTER_ADDRESS_AND_PORT] = "address-and-port-dependent",
	};
	unsigned int i;

	if (expect(l, v, YAML_SCALAR_NODE))
		return -1;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(scalar(v), words[i])) {
			((struct cfg_nat *)obj)->filtering = (enum cfg_nat_filtering)i;
			return 0;
		}
	return error_at(l, v, "unknown filtering '%s': expected endpoint-independent, "
			      "address-dependent or address-and-port-dependent", scalar(v));
}

/* A list of rules: room for all of them, then each parsed by PARSE. */
static int nat_list(struct loader *l, yaml_node_t *v, void **array, size_t size,
		    int (*parse)(struct loader *, yaml_node_t *))
{
	*array = alloc_for_list(l, v, size);
	return !*array || parse_list(l, v, parse) ? -1 : 0;
}

static int nat_snat(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_nat *nat = obj;

	return nat_list(l, v, (void **)&nat->snat, sizeof(*nat->snat), parse_snat);
}

static int nat_dnat(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_nat *nat = obj;

	return nat_list(l, v, (void **)&nat->dnat, sizeof(*nat->dnat), parse_dnat);
}

static int nat_static(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_nat *nat = obj;

	return nat_list(l, v, (void **)&nat->statics, sizeof(*nat->statics), parse_static);
}

static int nat_nptv6(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_nat *nat = obj;

	return nat_list(l, v, (void **)&nat->nptv6, sizeof(*nat->nptv6), parse_nptv6);
}

/* Defaults: RFC 5382 REQ-5 (TCP established 2 h 4 min), RFC 5382 transitory 4 min,
 * RFC 4787 REQ-5 (UDP 5 min), RFC 5508 REQ-1 (ICMP 60 s). */
static int load_nat(struct loader *l, yaml_node_t *v, yaml_node_t *key)
{
	static const struct field fields[] = {
		{ "snat", nat_snat, false },         { "dnat", nat_dnat, false },
		{ "static", nat_static, false },     { "nptv6", nat_nptv6, false },
		{ "timeouts", nat_timeouts, false }, { "max_sessions", nat_max_sessions, false },
		{ "filtering", nat_filtering, false }, { NULL, NULL, false },
	};
	struct cfg_nat *nat = &l->cfg->nat;

	nat->enabled = true;
	nat->loc = loc_of(key);
	nat->timeouts = (struct cfg_nat_timeouts){ 7440, 240, 300, 60 };
	nat->max_sessions = 1u << 20;
	nat->filtering = CFG_NAT_FILTER_ADDRESS;
	return parse_mapping(l, v, fields, nat);
}

/* ---- metrics ---- */

/* "ADDRESS:PORT" or "[IPv6ADDRESS]:PORT", numeric only. */
static int metrics_listen(struct loader *l, yaml_node_t *v, void *obj)
{
	struct cfg_metrics *m = obj;
	char addr[INET6_ADDRSTRLEN], *end;
	const char *s, *colon, *start;
	unsigned long port;
	size_t len;

	if (expect(l, v, YAML_SCALAR_NODE))
		return -1;
	s = scalar(v);
	colon = strrchr(s, ':');
	start = s[0] == '[' ? s + 1 : s;
	len = colon ? (size_t)(colon - start) - (s[0] == '[') : 0;
	if (!colon || (s[0] == '[' && colon[-1] != ']') || len == 0 || len >= sizeof(addr))
		return error_at(l, v, "invalid listen address '%s': expected ADDRESS:PORT or "
				      "[IPv6ADDRESS]:PORT", s);
	memcpy(addr, start, len);
	addr[len] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (!ip_from_string(addr, &m->addr) || (m->addr.family == AF_INET6) != (s[0] == '['))
		return error_at(l, v, "invalid listen address '%s': expected ADDRESS:PORT or "
				      "[IPv6ADDRESS]:PORT", s);
	if (!isdigit((unsigned char)colon[1]) || *end || port < 1 || port > 65535)
		return error_at(l, v, "invalid port in '%s': expected 1 to 65535", s);
	m->port = (uint16_t)port;
	snprintf(m->listen, sizeof(m->listen), "%s", s);
	m->loc = loc_of(v);
	m->enabled = true;
	return 0;
}

static int parse_top(struct loader *l, yaml_node_t *root)
{
	static const struct field fields[] = {
		{ "ports", top_ports, true },	  { "neighbours", top_neighbours, false },
		{ "routes", top_routes, false },  { "dataplane", top_dataplane, false },
		{ "nat", top_nat, false },	  { "slow_path", top_slow_path, false },
		{ "metrics", top_metrics, false }, { NULL, NULL, false },
	};
	static const struct field metrics_fields[] = {
		{ "listen", metrics_listen, true }, { NULL, NULL, false },
	};
	static const struct field sp_fields[] = {
		{ "neighbour_timeout", sp_neighbour_timeout, false },
		{ "icmp_rate", sp_icmp_rate, false },
		{ "icmp_burst", sp_icmp_burst, false },
		{ "neighbours", sp_neighbours, false },
		{ NULL, NULL, false },
	};
	static const struct field dp_fields[] = {
		{ "burst", dp_burst, false }, { "mbufs", dp_mbufs, false }, { NULL, NULL, false },
	};
	struct config *cfg = l->cfg;
	struct sections s = { 0 };

	if (!root)
		return error_at(l, NULL, "empty configuration: 'ports' is required");
	if (parse_mapping(l, root, fields, &s) || load_ports(l, s.ports))
		return -1;
	if (s.neighbours) {
		cfg->neighbours = alloc_for_list(l, s.neighbours, sizeof(*cfg->neighbours));
		if (!cfg->neighbours || parse_list(l, s.neighbours, parse_neighbour))
			return -1;
	}
	if (s.routes) {
		cfg->routes = alloc_for_list(l, s.routes, sizeof(*cfg->routes));
		if (!cfg->routes || routes_index(l, s.routes) ||
		    parse_list(l, s.routes, parse_route))
			return -1;
	}
	if (s.dataplane)
		cfg->dataplane.loc = loc_of(s.dataplane);
	if (s.dataplane && parse_mapping(l, s.dataplane, dp_fields, &cfg->dataplane))
		return -1;
	if (s.slow_path && parse_mapping(l, s.slow_path, sp_fields, &cfg->slow_path))
		return -1;
	if (s.nat && load_nat(l, s.nat, s.nat_key))
		return -1;
	if (s.metrics && parse_mapping(l, s.metrics, metrics_fields, &cfg->metrics))
		return -1;
	return 0;
}

/* Reader errors (bad UTF-8, control characters) carry a byte offset, not a mark. */
static int yaml_error(struct loader *l, const yaml_parser_t *parser, const char *yaml)
{
	yaml_mark_t mark = parser->problem_mark;
	const char *problem = parser->problem ? parser->problem : "out of memory";
	size_t i;

	if (parser->error == YAML_READER_ERROR) {
		memset(&mark, 0, sizeof(mark));
		for (i = 0; i < parser->problem_offset; i++, mark.column++)
			if (yaml[i] == '\n') {
				mark.line++;
				mark.column = (size_t)-1;
			}
	}
	if (parser->context)
		snprintf(l->err, l->err_len, "%s:%zu:%zu: invalid YAML: %s (%s at line %zu)",
			 l->name, mark.line + 1, mark.column + 1, problem, parser->context,
			 parser->context_mark.line + 1);
	else
		snprintf(l->err, l->err_len, "%s:%zu:%zu: invalid YAML: %s", l->name,
			 mark.line + 1, mark.column + 1, problem);
	return -1;
}

/* A second document ("---") would be silently ignored by yaml_parser_load. */
static int check_single_document(struct loader *l, yaml_parser_t *parser, const char *yaml)
{
	yaml_document_t next;
	yaml_node_t *root;
	int rc = 0;

	if (!yaml_parser_load(parser, &next))
		return yaml_error(l, parser, yaml);
	root = yaml_document_get_root_node(&next);
	if (root)
		rc = error_at(l, root, "only one YAML document is allowed");
	yaml_document_delete(&next);
	return rc;
}

/* Every value is read as a C string: one with a NUL inside ("\0" in a quoted scalar)
 * would be cut short silently. */
static int check_no_nul(struct loader *l)
{
	yaml_node_t *n;

	for (n = l->doc.nodes.start; n < l->doc.nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE &&
		    strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
			return error_at(l, n, "a value with a NUL character in it");
	return 0;
}

static int load(struct loader *l, const char *yaml, size_t len)
{
	yaml_parser_t parser;
	int rc;

	if (!yaml_parser_initialize(&parser))
		return error_at(l, NULL, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	/* On failure yaml_parser_load has already freed the document. */
	if (!yaml_parser_load(&parser, &l->doc)) {
		rc = yaml_error(l, &parser, yaml);
		yaml_parser_delete(&parser);
		return rc;
	}
	rc = check_single_document(l, &parser, yaml);
	if (!rc)
		rc = check_no_nul(l);
	if (!rc)
		rc = parse_top(l, yaml_document_get_root_node(&l->doc));
	yaml_document_delete(&l->doc);
	yaml_parser_delete(&parser);
	free(l->route_slots);
	return rc;
}

int config_load_string(const char *name, const char *yaml, size_t len, struct config *cfg,
		       char *err, size_t err_len)
{
	struct loader l = { .cfg = cfg, .name = name, .err = err, .err_len = err_len };

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", name);
	cfg->dataplane.burst = 32;
	cfg->dataplane.mbufs = 65535;
	cfg->slow_path.neighbour_timeout = 300;
	cfg->slow_path.icmp_rate = 100;
	cfg->slow_path.icmp_burst = 50;
	cfg->slow_path.neighbours = 4096;
	if (load(&l, yaml, len)) {
		config_free(cfg);
		return -1;
	}
	config_sha256(yaml, len, cfg->sha256);
	return 0;
}

/* Read all of F into a malloc'd buffer; NULL with errno set on failure. No fseek/ftell:
 * they fail or lie on pipes and directories. */
static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *bigger;

	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (ferror(f)) {
			free(buf);
			return NULL; /* errno from the failed read */
		}
		if (n < cap) {
			*len = n;
			return buf;
		}
		if (cap >= CFG_FILE_MAX) {
			errno = EFBIG;
			break;
		}
		cap *= 2;
		bigger = realloc(buf, cap);
		if (!bigger)
			break;
		buf = bigger;
	}
	free(buf);
	return NULL;
}

int config_load(const char *path, struct config *cfg, char *err, size_t err_len)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0;
	int rc, saved;

	memset(cfg, 0, sizeof(*cfg));
	/* The path is kept (reloads read it again): one that would not fit is refused. */
	if (strlen(path) >= sizeof(cfg->path)) {
		snprintf(err, err_len, "%.64s...:1:1: path longer than %zu characters", path,
			 sizeof(cfg->path) - 1);
		return -1;
	}
	f = fopen(path, "rb");
	if (f) {
		buf = read_all(f, &len);
		saved = errno;
		fclose(f);
		errno = saved;
	}
	if (!buf) {
		snprintf(err, err_len, "%s:1:1: cannot read file: %s", path, strerror(errno));
		return -1;
	}
	rc = config_load_string(path, buf, len, cfg, err, err_len);
	free(buf);
	return rc;
}

void config_free(struct config *cfg)
{
	free(cfg->neighbours);
	free(cfg->routes);
	free(cfg->nat.snat);
	free(cfg->nat.dnat);
	free(cfg->nat.statics);
	free(cfg->nat.nptv6);
	memset(cfg, 0, sizeof(*cfg));
}
