"""Carrying out a change on the ledger's writer: `apply` turns each kind of change
(`inventory.changes`) into keeper calls, in one match, inside the keeper's transaction.

A change the keeper refuses raises `Refused` (nothing written), except commands, whose refusal
is answered on `cmd-result` instead.
"""

from __future__ import annotations

from datetime import timedelta

from inventory.changes import (
    AckAlarm,
    Answering,
    Arrived,
    Book,
    CancelPick,
    Change,
    ClearAlarm,
    ConfirmButton,
    ConfirmRequest,
    ConfirmStocktake,
    EndPutaway,
    ExpirySweep,
    FinishStocktake,
    HandheldRead,
    Left,
    Locate,
    Moved,
    PickTick,
    PutawayScan,
    RaiseAlarm,
    Recall,
    ReceivedScan,
    RecordOutage,
    Refuse,
    RememberCommand,
    RequestAnswer,
    ScannedAtPick,
    SendRequestsAgain,
    ShortageCheck,
    StocktakeStarted,
    UnreadCode,
    WriteOff,
)
from inventory.codes.identifiers import pack_of
from inventory.errors import RequestError, UnknownAlarm
from inventory.keeper import InventoryKeeper
from inventory.ledger.commit import Commit
from inventory.ledger.outbox import OutboxMessage
from inventory.picking.idle import waiting_turn
from inventory.picking.lists import PickRequest
from inventory.picking.outcome import Outcome
from inventory.picking.results import Reply, message
from inventory.putaway.sessions import Notice
from inventory.replenishment.requests import ProcurementRequest, RequestStatus, not_covered
from inventory.stock.expiry import expiry_sweep
from inventory.stock.held_packs import hold_again
from inventory.stock.write_off import write_off


def apply(keeper: InventoryKeeper, change: Change) -> Outcome:
    """Carry out one change on the writer thread; what it did. Packs it took out of slots
    where open pick lists hold packs are made good for those lists (`PickDesk.overbooked`):
    no slot stays lit for packs it no longer holds. A colour it freed is let go of now
    (`ColourPool`)."""
    out = _carry_out(keeper, change)
    if keeper.picks.active:
        taken = {
            (m.from_slot, m.gtin)
            for commit in out.commits
            for m in commit.movements
            if m.from_slot is not None
        }
        with keeper.group():
            for slot, gtin in sorted(taken):
                keeper.picks.overbooked(slot, gtin, out)
    keeper.picks.colours.note()
    return out


def _carry_out(keeper: InventoryKeeper, change: Change) -> Outcome:
    # A pack picked for a list still open and put back is that, before a delivery's pack.
    if isinstance(change, Arrived):
        keeper.shelf.gone.back(change.pack.epc)  # a held pack missed a moment: not written off
        put_back = keeper.shelf.put_back(change.pack.epc, change.slot)
        if put_back is not None:
            return put_back
    by_tag = _put_by_tag(keeper, change)
    if by_tag is not None:
        return by_tag
    match change:
        case Arrived(pack, slot):
            if keeper.shelf.holds(pack.epc):
                return keeper.shelf.returned(pack.epc)
            if keeper.line_of_epc(pack.epc) is None:
                # A pack a delivery let go of, or refused, laid there all the same: not a pack
                # of unknown batch and expiry.
                laid = keeper.putaways.laid_anyway(pack, slot)
                if laid is not None:
                    return laid
            with keeper.group():
                held = keeper.line_of_epc(pack.epc)
                if held is None:  # a pack booked by its code (a press) and its tag are one
                    put = keeper.tag_found(pack, slot) or keeper.put_away(
                        pack, slot, reason="seen on shelf"
                    )
                elif held.slot != slot:  # booked in a slot no reader watches: it moved here
                    put = keeper.move(pack.epc, slot, reason="seen in another slot")
                else:
                    put = Commit()
                # Off the shelf when its batch was recalled, or expired: held where it lies now;
                # taken by mistake and not put back in time: back after all.
                back = hold_again(keeper, keeper.alarms, keeper.picks.recalled, pack.epc)
            lit = any(commit.alarms for commit in back)
            return Outcome(commits=[put, *back], lights_changed=lit)
        case Left(epc, slot):
            return keeper.shelf.removed(epc, slot)
        case Moved(epc, _, to_slot):
            unbooked = pack_of(epc) if keeper.line_of_epc(epc) is None else None
            if unbooked is not None:
                # Seen where nothing was booked (a slot not lit for it, its delivery ended or
                # paused since): for the ledger, it arrives where it went.
                return _carry_out(keeper, Arrived(unbooked, to_slot))
            return Outcome([keeper.move(epc, to_slot, reason="seen in another slot")])
        case ConfirmButton(slot, presses, shown, least_seen):
            # The put-away desk takes presses on slots it lit and hands the others on.
            return keeper.putaways.button(slot, presses, shown, least_seen)
        case HandheldRead(epc, reader):
            return keeper.shelf.tag_read(epc, reader)
        case ScannedAtPick(scan, scanner):
            return keeper.shelf.scanned(scan, scanner)
        case ReceivedScan(scan, slot, actor, scanner):
            return keeper.putaways.received(scan, slot, actor, scanner)
        case PutawayScan(scan, scanner, station, actor):
            return keeper.putaways.scanned(scan, scanner, station, actor)
        case UnreadCode(scanner, slot, why):
            return keeper.putaways.unread(scanner, slot, why)
        case PickTick():
            return _tick(keeper)
        case RaiseAlarm(kind, subject, detail):
            return Outcome([keeper.alarms.raise_alarm(kind, subject, dict(detail))])
        case ClearAlarm(kind, subject):
            return Outcome([keeper.alarms.clear(kind, subject)])
        case RecordOutage(alarm):
            if keeper.alarms.get(alarm.kind, alarm.subject) is not None:
                # Live for another reason (a damaged ledger, found by the integrity check): it
                # stays, and its state goes out again over the outage's, sent straight.
                return Outcome([keeper.alarms.send_again(alarm.id)])
            with keeper.group():
                raised = keeper.alarms.raise_alarm(alarm.kind, alarm.subject, alarm.detail)
                cleared = keeper.alarms.clear(alarm.kind, alarm.subject)
            return Outcome([raised, cleared])
        case ExpirySweep(near_days):
            return expiry_sweep(keeper, keeper.calendar.today(), near_days)
        case ShortageCheck():
            coming = keeper.putaways.still_announced(keeper.orders.open_gtin)
            return Outcome([keeper.orders.at_start(keeper.on_hand, coming)])
        case SendRequestsAgain(after_seconds):
            on_the_way = keeper.putaways.on_the_way()
            commit, notes = keeper.orders.send_again(timedelta(seconds=after_seconds), *on_the_way)
            return Outcome([commit], notes)
        case Book(movements):
            return Outcome([keeper.commit(movements)])
        case RememberCommand(message_id, command, expires_at, then):
            with keeper.group():
                now = keeper.stamp()
                keeper.commands.forget_expired(now)
                if not keeper.commands.remember(message_id, command, now, expires_at):
                    return Outcome()  # carried out before (a press kept through a stop)
                return Outcome() if then is None else _carry_out(keeper, then)
        case Answering(message_id, command, answer_id, then):
            with keeper.answering(Reply(message_id, command, answer_id)):
                return _carry_out(keeper, then)
        case PickRequest():
            return keeper.picks.start(change)
        case CancelPick(pick_id, by):
            return keeper.picks.cancel(pick_id, by)
        case Locate(gtin, seconds, command_id):
            seconds = seconds or keeper.picks.times.locate_seconds
            return keeper.picks.locate(gtin, seconds, command_id)
        case Recall(gtin, batch, note, by):
            return keeper.picks.recall(gtin, batch, note, by)
        case WriteOff():
            return write_off(keeper, change)
        case AckAlarm():
            return _acknowledge(keeper, change)
        case ConfirmRequest():
            return _confirm_request(keeper, change)
        case RequestAnswer():
            return _request_answer(keeper, change)
        case Notice():
            return keeper.putaways.notice(change)
        case EndPutaway(delivery_id, by):
            return keeper.putaways.end(delivery_id, by)
        case Refuse(command, command_id, error, "", replay_of):
            return keeper.picks.refuse(command, command_id, error, replay_of=replay_of)
        case Refuse(command, command_id, error, message_id):
            with keeper.answering(Reply(message_id, command, command_id)):
                return keeper.picks.refuse(command, command_id, error)
        case StocktakeStarted(sweep):
            return keeper.stocktakes.started(sweep)
        case FinishStocktake(sweep, ""):
            return keeper.stocktakes.finish(sweep)
        case FinishStocktake(sweep, why):
            return keeper.stocktakes.abandon(sweep, why)
        case ConfirmStocktake(stocktake_id, by, tap):
            return keeper.stocktakes.confirm(stocktake_id, by, tap)


def _put_by_tag(keeper: InventoryKeeper, change: Change) -> Outcome | None:
    """A fixed reader saw a tag arrive that a put-away session waits for: the put (or the
    wrong slot) it means; None when no session waits for it. A tag the ledger already holds
    is a pack of the shelves, not of a delivery."""
    if not keeper.putaways.sessions:
        return None
    if isinstance(change, Arrived) and keeper.line_of_epc(change.pack.epc) is None:
        return keeper.putaways.tag_arrived(change.pack, change.slot)
    return None


def _tick(keeper: InventoryKeeper) -> Outcome:
    """One beat of the clock for the pick and put-away desks, and held packs gone a while.
    Who waits its turn at every slot it wants is worked out once for both desks."""
    behind = waiting_turn(keeper.picks.cues() + keeper.putaways.board.lit())
    picks, puts = keeper.picks.tick(behind), keeper.putaways.tick(behind)
    gone = keeper.shelf.gone.tick()
    picks.commits += puts.commits + gone.commits
    picks.notes += puts.notes + gone.notes
    picks.refusals += puts.refusals + gone.refusals
    picks.booked_epcs += puts.booked_epcs + gone.booked_epcs
    picks.putaway_notes += puts.putaway_notes
    picks.putaway_mistakes += puts.putaway_mistakes
    picks.lights_changed = picks.lights_changed or puts.lights_changed
    return picks


def _acknowledge(keeper: InventoryKeeper, command: AckAlarm) -> Outcome:
    """The answer names who acknowledged the alarm: the first to, when it is acknowledged
    again (the ledger keeps the first), so nobody is told it was them when it was not."""
    try:
        with keeper.group():
            acknowledged = keeper.alarms.acknowledge(command.alarm_id, command.by)
            alarm = keeper.alarms.find(command.alarm_id)
            by = (alarm.acknowledged_by if alarm else None) or command.by
            commits = [
                acknowledged,
                keeper.send_result(
                    "alarm-ack", command.alarm_id, "acknowledged", alarm_id=command.alarm_id, by=by
                ),
            ]
            if alarm is not None and alarm.ends_when_acknowledged:
                commits.append(keeper.alarms.clear(alarm.kind, alarm.subject))
    except UnknownAlarm as exc:
        return keeper.picks.refuse("alarm-ack", command.alarm_id, str(exc))
    note = f"alarm {command.alarm_id} acknowledged by {by}"
    if not acknowledged.alarms:
        note = f"alarm {command.alarm_id} was already acknowledged by {by} ({command.by} again)"
    return Outcome(commits=commits, notes=[note], lights_changed=True)


def _confirm_request(keeper: InventoryKeeper, command: ConfirmRequest) -> Outcome:
    rid = command.request_id

    def answer(sent: ProcurementRequest) -> list[OutboxMessage]:
        return [
            message(
                keeper.stamp(),
                "procurement-confirm",
                rid,
                "confirmed",
                request_id=rid,
                by=command.by,
                quantity=sent.quantity,
            )
        ]

    proposed = keeper.orders.request(rid)
    try:
        commit = keeper.orders.confirm(rid, command.by, command.quantity, answer)
    except RequestError as exc:
        return keeper.picks.refuse("procurement-confirm", rid, str(exc))
    (sent,) = commit.requests
    note = f"request {rid} confirmed by {command.by} ({sent.quantity})"
    if left := not_covered(proposed.owed if proposed else 0, sent.quantity):
        note += f"; {left}"
    return Outcome(commits=[commit], notes=[note])


def _request_answer(keeper: InventoryKeeper, answer: RequestAnswer) -> Outcome:
    """The centre's answer applied and answered on `cmd-result` (`applied`, or `duplicate`
    when the request had that status already), in one transaction; or refused. The answer
    names the message (`reply_to`) when it carried a message_id."""
    rid, given = answer.request_id, answer.status
    echo = {"reply_to": answer.message_id} if answer.message_id else {}

    def reply(state: RequestStatus, changed: bool) -> list[OutboxMessage]:
        taken = "duplicate" if state is given and not changed else "applied"
        fields = {"request_id": rid, "given": str(given), "state": str(state), **echo}
        return [message(keeper.stamp(), "procurement-status", rid, taken, **fields)]

    try:
        commit = keeper.orders.update(answer, reply)
    except RequestError as exc:
        return keeper.picks.refuse("procurement-status", rid, str(exc), answer.message_id)
    note = f" ({answer.note})" if answer.note else ""
    notes = [f"request {rid}: {given}{note}, said by {answer.by}"]
    notes += [
        f"{r.product.gtin} is still short: proposal {r.request_id} for {r.quantity} waits for"
        " a pharmacist"
        for r in commit.requests
        if r.status is RequestStatus.PROPOSED
    ]
    return Outcome(commits=[commit], notes=notes)
