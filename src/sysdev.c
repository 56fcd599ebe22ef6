// SPDX-License-Identifier: MIT
#include <string.h>

#include "accord/sysdev.h"

static uint32_t le_value(const void *data, unsigned int len)
{
	const uint8_t *b = data;
	uint32_t v = 0;

	for (unsigned int i = 0; i < len && i < 4; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void debug_exit_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct stop_sink *sink = dev;

	/* Only a write at the base counts; the status is its low byte. */
	if (offset == 0)
		sink->stop(sink->ctx, VM_STOP_DEBUG_EXIT, (int)(le_value(data, len) & 0xff));
}

const struct bus_ops debug_exit_bus_ops = {
	.write = debug_exit_write,
};

static void i8042_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	/* Status: output buffer empty, input buffer empty; no keyboard attached. */
	memset(data, 0, len);
}

static void i8042_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct stop_sink *sink = dev;

	if (offset == 0 && len == 1 && *(const uint8_t *)data == I8042_CMD_RESET)
		sink->stop(sink->ctx, VM_STOP_REBOOT, 0);
}

const struct bus_ops i8042_bus_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

static void pm1a_cnt_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct stop_sink *sink = dev;

	if (offset == 0 && len >= 2 && (le_value(data, len) & PM1_CNT_SLP_EN))
		sink->stop(sink->ctx, VM_STOP_POWEROFF, 0);
}

const struct bus_ops pm1a_cnt_bus_ops = {
	.read = i8042_read, /* reads as zero: not sleeping */
	.write = pm1a_cnt_write,
};

void sysdev__reset_control(struct stop_sink *sink, uint8_t val)
{
	if (val & RESET_CTL_RST_CPU)
		sink->stop(sink->ctx, VM_STOP_REBOOT, 0);
}

int sysdev__register(struct bus *pio, struct stop_sink *sink)
{
	int ret;

	ret = bus__register(pio, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, &debug_exit_bus_ops, sink);
	if (ret)
		return ret;
	ret = bus__register(pio, I8042_CMD_PORT, 1, &i8042_bus_ops, sink);
	if (ret)
		return ret;
	return bus__register(pio, PM1A_CNT_PORT, PM1A_CNT_LEN, &pm1a_cnt_bus_ops, sink);
}
