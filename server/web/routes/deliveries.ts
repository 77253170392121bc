// The hot-lead deliveries page (/deliveries, issue 11): each channel's latest deliveries with their
// state, and "resend" for dead ones (an operator command, audited by the operation).
import type { FastifyPluginAsync } from 'fastify';
import { CHANNELS, configuredChannels, type ChannelName } from '../../notify/channels.ts';
import { recentDeliveries, type DeliveryRow } from '../../notify/deliveries.ts';
import { actorOf, type DashboardOptions } from '../dashboard.ts';
import { httpError, t } from '../http-errors.ts';
import { commandRoute } from '../route-roles.ts';
import { answerAction, messageOf } from './action-outcome.ts';

export const DELIVERIES_SHOWN = 20;

const VARIABLE: Record<ChannelName, string> = { dingtalk: 'NOTIFY_DINGTALK_WEBHOOK', wecom: 'NOTIFY_WECOM_WEBHOOK', webhook: 'NOTIFY_WEBHOOK_URL' };

export interface ChannelDeliveries {
  channel: ChannelName;
  configured: boolean;
  variable: string;
  rows: DeliveryRow[];
}

export async function loadDeliveries(options: DashboardOptions): Promise<ChannelDeliveries[]> {
  const configured = new Set(configuredChannels(options.config.notify).map((c) => c.name));
  return Promise.all(
    CHANNELS.map(async (channel) => ({ channel, configured: configured.has(channel), variable: VARIABLE[channel], rows: await recentDeliveries(options.reads.db, channel, DELIVERIES_SHOWN) })),
  );
}

export const deliveryRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  app.get('/deliveries', async (request, reply) => {
    const channels = await loadDeliveries(options);
    reply.header('Vary', 'HX-Request');
    if (request.headers['hx-request'] === 'true') return reply.view('partials/deliveries-list', { channels, message: null });
    return reply.view('pages/deliveries', { channels, message: null });
  });

  app.post<{ Params: { id: string } }>('/deliveries/:id/resend', commandRoute('resend-delivery'), async (request, reply) => {
    if (!/^[1-9]\d{0,15}$/.test(request.params.id)) throw httpError(400, t(reply)('notify.msg.notFound', { id: request.params.id }));
    const outcome = await options.operations.notify.resend(actorOf(request), Number(request.params.id));
    const message = messageOf(outcome, 'notify', reply.locals?.time ?? ((at: Date) => at.toISOString()));
    return answerAction(request, reply, message, { template: 'partials/deliveries-list', data: { channels: await loadDeliveries(options) } }, '/deliveries');
  });
};
