/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control_call: other threads (DPDK telemetry, the metrics server) ask the control
 * thread to run a function for them. The control thread checks one flag per poll;
 * locks are fine here because no worker ever takes part.
 */
#include <errno.h>

#include "control_internal.h"

int control_calls_init(struct control *c)
{
	struct control_call_slot *s = &c->call;

	if (pthread_mutex_init(&s->lock, NULL))
		return -1;
	if (pthread_mutex_init(&s->done_lock, NULL)) {
		pthread_mutex_destroy(&s->lock);
		return -1;
	}
	if (pthread_cond_init(&s->done, NULL)) {
		pthread_mutex_destroy(&s->done_lock);
		pthread_mutex_destroy(&s->lock);
		return -1;
	}
	return 0;
}

void control_calls_destroy(struct control *c)
{
	control_calls_close(c);
	/* A caller that raced with close() may still be inside control_call. */
	pthread_mutex_lock(&c->call.lock);
	pthread_mutex_unlock(&c->call.lock);
	pthread_cond_destroy(&c->call.done);
	pthread_mutex_destroy(&c->call.done_lock);
	pthread_mutex_destroy(&c->call.lock);
}

int control_call(struct control *c, int (*fn)(struct control *c, void *arg), void *arg)
{
	struct control_call_slot *s = &c->call;
	int rc;

	pthread_mutex_lock(&s->lock);
	pthread_mutex_lock(&s->done_lock);
	if (s->closed) {
		rc = -ENOTCONN;
	} else {
		s->fn = fn;
		s->arg = arg;
		__atomic_store_n(&s->pending, true, __ATOMIC_RELEASE);
		while (s->pending)
			pthread_cond_wait(&s->done, &s->done_lock);
		rc = s->rc;
	}
	pthread_mutex_unlock(&s->done_lock);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* One relaxed load when nobody calls: cheap enough for every poll. */
void control_calls_serve(struct control *c)
{
	struct control_call_slot *s = &c->call;

	if (!__atomic_load_n(&s->pending, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&s->done_lock);
	s->rc = s->fn(c, s->arg);
	s->pending = false;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->done_lock);
}

void control_calls_close(struct control *c)
{
	struct control_call_slot *s = &c->call;

	pthread_mutex_lock(&s->done_lock);
	if (s->pending) { /* asked before close: answer that it will not run */
		s->rc = -ENOTCONN;
		s->pending = false;
		pthread_cond_broadcast(&s->done);
	}
	s->closed = true;
	pthread_mutex_unlock(&s->done_lock);
}

struct dataplane *control_dataplane(const struct control *c)
{
	return c->dp;
}

const struct config *control_config(const struct control *c)
{
	return c->cfg;
}

const struct route_table *control_routes(const struct control *c)
{
	return c->rt;
}

const struct control_config_info *control_config_info(const struct control *c)
{
	return &c->info;
}
