// Hot-lead delivery commands (issue 11): an operator resends a dead delivery. Audited like every
// command; the sender picks the delivery up on its next cycle, in whichever copy holds the channel.
import { resendDead } from '../notify/deliveries.ts';
import { runCommand, type OperationsContext } from './context.ts';
import { done, refused, type Actor, type Outcome } from './outcome.ts';

export function notifyOperations(context: Pick<OperationsContext, 'pipeline'>) {
  return {
    resend(actor: Actor, deliveryId: number): Promise<Outcome> {
      return runCommand(context, actor, 'resend-delivery', {}, async () => {
        const result = await resendDead(context.pipeline.db, deliveryId);
        if (result === 'resent') return done('delivery-resent', { id: deliveryId });
        return refused(result, { id: deliveryId });
      });
    },
  };
}
