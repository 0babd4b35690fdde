// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MIPS} from "./MIPS.sol";
import {NodeLink} from "./NodeLink.sol";
import {MIPSState} from "./lib/MIPSState.sol";
import {MerklePath} from "./lib/MerklePath.sol";
import {NodeContext, TransitionProof} from "./lib/GameTypes.sol";
import {ITaskGame, Outcome} from "./lib/ITaskGame.sol";
import {GameBounds} from "./lib/GameBounds.sol";

/// @title DisputeGame
/// @notice The two-level bisection game of docs/SPEC.md §6.4: level 0 over the nodes of a task
///         (phase 2), a checked link into level 1 over the MIPS steps of the one disputed node
///         (phase 1), and one on-chain `MIPS.step` that decides. Chess clocks with a per-move
///         increment (Fischer) bound every game; the increment repays a move's worst-case
///         inclusion, so a same-block liar cannot win on time (attack H-1, §6.10).
/// @dev    Who may call what, and when:
///         - `open`: only the TaskRegistry that deployed this contract, from `challenge`.
///         - `bisect`, `transition`: only the game's submitter, in the stages where it moves.
///         - `respond`: only the game's challenger, when a midpoint is posted.
///         - `step`, `timeout`, `abandon`: anyone; each is deterministic in chain state.
///         Every value a decision uses (indices, lengths, depths, roots) is in game storage,
///         the registries, or proven by NodeLink; callers supply only claims and witnesses.
contract DisputeGame {
    // Narrowing casts store ids, node counts and timestamps bounded by the registry (ids and
    // n ≤ 2^32, timestamps < 2^64) into the packed game slots.
    // forge-lint: disable-start(unsafe-typecast)
    /// @notice Semantic version of this contract.
    string public constant version = "0.2.0";

    /// @notice Where a game is. The terminal stages never change again.
    enum Stage {
        None,
        Bisect,
        Transition,
        Step,
        SubmitterWon,
        ChallengerWon,
        Abandoned
    }

    /// @notice Why a game ended.
    enum Reason {
        Step,
        Timeout,
        Abandoned
    }

    /// @notice Level numbers (§6.4). A third level is a new link between these.
    uint8 public constant LEVEL_NODES = 0;
    uint8 public constant LEVEL_STEPS = 1;

    /// @notice A game's state. The fields every move reads and writes (stage, round, clocks)
    ///         share one slot, so a bisection move touches three slots at most.
    struct Game {
        Stage stage;
        uint8 level;
        bool midPending;
        uint32 round;
        uint64 lastMove;
        uint64 submitterClock;
        uint64 challengerClock;
        address challenger;
        uint64 resultId;
        address submitter;
        uint64 taskId;
        uint64 lo;
        uint64 hi;
        uint64 node;
        bytes32 loHash;
        bytes32 hiHash;
        bytes32 midHash;
    }

    /// @notice The registry that opens games and settles their bonds.
    ITaskGame public immutable registry;
    /// @notice The phase link.
    NodeLink public immutable link;
    /// @notice The single-step VM.
    MIPS public immutable mips;

    /// @notice Number of games opened; ids are 1..gameCount.
    uint256 public gameCount;
    mapping(uint256 gameId => Game) internal _games;

    /// @notice A game opened on a result.
    event GameOpened(
        uint256 indexed gameId, uint256 indexed resultId, address indexed challenger, address submitter, uint64 nodes
    );
    /// @notice The submitter claimed the hash at `index` of the current level.
    event MidpointPosted(uint256 indexed gameId, uint8 level, uint32 round, uint64 index, bytes32 claim);
    /// @notice The challenger agreed or disagreed with the posted midpoint; the new interval.
    event Responded(uint256 indexed gameId, uint8 level, uint32 round, bool agree, uint64 lo, uint64 hi);
    /// @notice Phase 2 ended on `node`; the transition is proven and level 1 starts at [0, steps].
    event TransitionProven(
        uint256 indexed gameId, uint64 node, bytes32 outputRoot, bytes32 startHash, bytes32 finalHash, uint64 steps
    );
    /// @notice The disputed instruction ran on chain.
    event StepVerified(uint256 indexed gameId, uint64 stepIndex, bytes32 preStateHash, bytes32 postStateHash);
    /// @notice The game ended.
    event GameResolved(uint256 indexed gameId, Stage outcome, Reason reason);

    /// @notice The caller may not move now.
    /// @param expected Who may.
    error NotYourTurn(address expected);
    /// @notice The game is not in the stage this call needs.
    /// @param stage The game's stage.
    error WrongStage(Stage stage);
    /// @notice The move was for another round.
    /// @param expected The game's round.
    /// @param given    The move's round.
    error StaleRound(uint32 expected, uint32 given);
    /// @notice The mover's clock has run out; the other side may claim the timeout.
    error ClockExpired();
    /// @notice A timeout was claimed while the clock of the party to move still runs.
    /// @param remaining Seconds left.
    error ClockRunning(uint64 remaining);
    /// @notice No game has this id.
    /// @param gameId The id.
    error UnknownGame(uint256 gameId);
    /// @notice The game has ended.
    error GameOver();
    /// @notice The step's pre-state is not the agreed state.
    /// @param expected The agreed hash.
    /// @param given    The hash of the state given.
    error PreStateMismatch(bytes32 expected, bytes32 given);
    /// @notice Only the registry opens games.
    error OnlyRegistry();
    /// @notice The game's result can still lose, so the game cannot be abandoned.
    error ResultStillPending();

    /// @param registry_ The TaskRegistry (the deployer).
    /// @param link_     The phase link.
    /// @param mips_     The single-step VM.
    constructor(ITaskGame registry_, NodeLink link_, MIPS mips_) {
        registry = registry_;
        link = link_;
        mips = mips_;
    }

    /// @notice Open a game on a result (§6.4): level 0 over [0, nodes] from S_0 to S_n.
    /// @param resultId   The disputed result.
    /// @param taskId     Its task.
    /// @param challenger Who disputes.
    /// @param submitter  Who defends.
    /// @param nodes      n = (P + N − 1)·n_f, computed by the registry.
    /// @param finalState S_n.
    /// @param clock      Each party's chess clock, in seconds.
    /// @return gameId    The new game's id.
    function open(
        uint256 resultId,
        uint256 taskId,
        address challenger,
        address submitter,
        uint64 nodes,
        bytes32 finalState,
        uint64 clock
    ) external returns (uint256 gameId) {
        if (msg.sender != address(registry)) revert OnlyRegistry();
        gameId = ++gameCount;
        Game storage g = _games[gameId];
        g.challenger = challenger;
        g.resultId = uint64(resultId);
        g.level = LEVEL_NODES;
        g.stage = nodes == 1 ? Stage.Transition : Stage.Bisect;
        g.submitter = submitter;
        g.lastMove = uint64(block.timestamp);
        g.hi = nodes;
        g.submitterClock = clock;
        g.challengerClock = clock;
        g.loHash = MerklePath.zero(MerklePath.MAX_DEPTH);
        g.hiHash = finalState;
        g.midHash = bytes32(uint256(1)); // a non-zero placeholder: every later midpoint write is a cheap update
        g.taskId = uint64(taskId);
        emit GameOpened(gameId, resultId, challenger, submitter, nodes);
    }

    /// @notice The submitter's claim at the midpoint ⌊(lo + hi)/2⌋ of the current level.
    /// @param gameId The game.
    /// @param round  The game's current round.
    /// @param claim  S_mid (level 0) or the VM state hash after `mid` steps (level 1).
    function bisect(uint256 gameId, uint32 round, bytes32 claim) external {
        Game storage g = _live(gameId, round);
        if (g.stage != Stage.Bisect || g.midPending) revert WrongStage(g.stage);
        _spend(g, true);
        g.midHash = claim;
        g.midPending = true;
        g.round = round + 1;
        emit MidpointPosted(gameId, g.level, round, (g.lo + g.hi) / 2, claim);
    }

    /// @notice The challenger's answer to the posted midpoint: agree moves lo up, disagree moves hi down.
    /// @param gameId The game.
    /// @param round  The game's current round.
    /// @param agree  Whether the challenger agrees with the midpoint claim.
    function respond(uint256 gameId, uint32 round, bool agree) external {
        Game storage g = _live(gameId, round);
        if (g.stage != Stage.Bisect || !g.midPending) revert WrongStage(g.stage);
        _spend(g, false);
        uint64 mid = (g.lo + g.hi) / 2;
        if (agree) {
            g.lo = mid;
            g.loHash = g.midHash;
        } else {
            g.hi = mid;
            g.hiHash = g.midHash;
        }
        g.midPending = false;
        g.round = round + 1;
        if (g.hi - g.lo == 1) g.stage = g.level == LEVEL_NODES ? Stage.Transition : Stage.Step;
        emit Responded(gameId, g.level, round, agree, g.lo, g.hi);
    }

    /// @notice The submitter's phase link at (S_i agreed, S_{i+1} disputed): proves node i's
    ///         output and derives its VM start state on chain (§6.6); level 1 then starts.
    /// @param gameId The game.
    /// @param round  The game's current round.
    /// @param proof  The transition.
    function transition(uint256 gameId, uint32 round, TransitionProof calldata proof) external {
        Game storage g = _live(gameId, round);
        if (g.stage != Stage.Transition) revert WrongStage(g.stage);
        _spend(g, true);
        NodeContext memory ctx = registry.nodeContext(g.taskId);
        ctx.node = g.lo;
        ctx.accBefore = g.loHash;
        ctx.accAfter = g.hiHash;
        (bytes32 startHash, bytes32 finalHash, uint64 steps) = link.verify(ctx, proof);
        _enterSteps(g, steps, startHash, finalHash);
        g.round = round + 1;
        emit TransitionProven(gameId, ctx.node, proof.outputRoot, startHash, finalHash, steps);
    }

    /// @notice Run the disputed instruction on chain and decide the game. Anyone may call it;
    ///         a post-state equal to the submitter's claim wins for the submitter, any other for
    ///         the challenger. An invalid witness reverts in MIPS and changes nothing.
    /// @param gameId   The game.
    /// @param preState The packed 226-byte state after `lo` steps (must hash to the agreed hash).
    /// @param proof    The step's memory proof (§2.7), or its compact form (§2.8).
    /// @param compact  Whether `proof` is compact.
    function step(uint256 gameId, bytes calldata preState, bytes calldata proof, bool compact) external {
        Game storage g = _game(gameId);
        if (g.stage != Stage.Step) revert WrongStage(g.stage);
        _spend(g, false);
        bytes32 pre = MIPSState.hash(MIPSState.load(preState));
        if (pre != g.loHash) revert PreStateMismatch(g.loHash, pre);
        bytes32 post = compact ? mips.stepCompact(preState, proof, 0) : mips.step(preState, proof, 0);
        emit StepVerified(gameId, g.lo, pre, post);
        _resolve(gameId, g, post != g.hiHash, Reason.Step);
    }

    /// @notice Award the game to the other party once the party to move has overdrawn its clock.
    /// @param gameId The game.
    function timeout(uint256 gameId) external {
        Game storage g = _game(gameId);
        bool toMove = _submitterToMove(g);
        uint64 left = toMove ? g.submitterClock : g.challengerClock;
        uint256 elapsed = block.timestamp - g.lastMove;
        if (elapsed <= left) revert ClockRunning(left - uint64(elapsed));
        _resolve(gameId, g, toMove, Reason.Timeout);
    }

    /// @notice End a game whose result was already rejected (by another game or a token proof):
    ///         its challenger gets its bond back (§6.3).
    /// @param gameId The game.
    function abandon(uint256 gameId) external {
        Game storage g = _game(gameId);
        if (registry.resultPending(g.resultId)) revert ResultStillPending();
        g.stage = Stage.Abandoned;
        emit GameResolved(gameId, Stage.Abandoned, Reason.Abandoned);
        registry.settleGame(gameId, g.resultId, g.challenger, Outcome.Refund);
    }

    /// @notice A game's full state.
    /// @param gameId The game.
    /// @return The game.
    function game(uint256 gameId) external view returns (Game memory) {
        Game storage g = _games[gameId];
        if (g.stage == Stage.None) revert UnknownGame(gameId);
        return g;
    }

    /// @notice Who moves next: the submitter (true) or the challenger (false).
    /// @param gameId The game.
    /// @return True iff the submitter's clock runs.
    function submitterToMove(uint256 gameId) external view returns (bool) {
        return _submitterToMove(_game(gameId));
    }

    /// @dev A live game, and the move's round checked.
    function _live(uint256 gameId, uint32 round) internal view returns (Game storage g) {
        g = _game(gameId);
        if (round != g.round) revert StaleRound(g.round, round);
    }

    /// @dev A game that exists and has not ended.
    function _game(uint256 gameId) internal view returns (Game storage g) {
        g = _games[gameId];
        if (g.stage == Stage.None) revert UnknownGame(gameId);
        if (uint8(g.stage) >= uint8(Stage.SubmitterWon)) revert GameOver();
    }

    /// @dev Start level 1 (the steps of node `lo`) over [0, steps], from the derived start state
    ///      (agreed) to the submitter's final state (disputed).
    function _enterSteps(Game storage g, uint64 steps, bytes32 startHash, bytes32 finalHash) internal {
        g.node = g.lo;
        g.level = LEVEL_STEPS;
        g.lo = 0;
        g.hi = steps;
        g.loHash = startHash;
        g.hiHash = finalHash;
        g.midPending = false;
        g.stage = steps == 1 ? Stage.Step : Stage.Bisect;
    }

    /// @dev Whose clock runs: the submitter's when it owes a midpoint or the transition.
    function _submitterToMove(Game storage g) internal view returns (bool) {
        return g.stage == Stage.Transition || (g.stage == Stage.Bisect && !g.midPending);
    }

    /// @dev Charge the party to move for the time since the last move, then add the increment
    ///      (§6.4). The party moving must be `submitter` (true) or the challenger; `step` is
    ///      anyone's call on the challenger's clock.
    function _spend(Game storage g, bool submitter) internal {
        if (submitter && msg.sender != g.submitter) revert NotYourTurn(g.submitter);
        if (!submitter && g.stage != Stage.Step && msg.sender != g.challenger) revert NotYourTurn(g.challenger);
        uint64 elapsed = uint64(block.timestamp) - g.lastMove;
        if (submitter) {
            if (elapsed > g.submitterClock) revert ClockExpired();
            g.submitterClock = g.submitterClock - elapsed + GameBounds.CLOCK_INCREMENT;
        } else {
            if (elapsed > g.challengerClock) revert ClockExpired();
            g.challengerClock = g.challengerClock - elapsed + GameBounds.CLOCK_INCREMENT;
        }
        g.lastMove = uint64(block.timestamp);
    }

    /// @dev End the game and settle its bonds in the registry.
    function _resolve(uint256 gameId, Game storage g, bool challengerWon, Reason reason) internal {
        Stage outcome = challengerWon ? Stage.ChallengerWon : Stage.SubmitterWon;
        g.stage = outcome;
        emit GameResolved(gameId, outcome, reason);
        Outcome o = !challengerWon ? Outcome.SubmitterWon : reason == Reason.Step ? Outcome.Disproved : Outcome.ChallengerWon;
        registry.settleGame(gameId, g.resultId, g.challenger, o);
    }
    // forge-lint: disable-end(unsafe-typecast)
}
