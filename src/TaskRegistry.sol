// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MIPS} from "./MIPS.sol";
import {NodeLink} from "./NodeLink.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {DisputeGame} from "./DisputeGame.sol";
import {MerkleMemory} from "./lib/MerkleMemory.sol";
import {MerklePath} from "./lib/MerklePath.sol";
import {ModelSpec, NodeContext} from "./lib/GameTypes.sol";
import {ITaskGame, Outcome} from "./lib/ITaskGame.sol";
import {GameBounds} from "./lib/GameBounds.sol";

/// @title TaskRegistry
/// @notice Tasks, results, bonds and credits (docs/SPEC.md §6.3). A requester posts a task with a
///         reward; submitters commit to results with a bond and reveal them; challengers open
///         games against results with a bond; the earliest commitment of a result that survives
///         its window and all its games takes the reward. All ETH is held here and paid out by
///         `withdraw` (pull payments). Protocol v2: each bound answers an attack of §6.10.
/// @dev    Who may call what, and when:
///         - `createTask`: anyone, with the reward as value.
///         - `commitResult`: anyone but once per task, until the deadline, with the submitter bond.
///         - `revealResult`: anyone with the preimage, a block after the commitment, until the reveal period ends.
///         - `challenge`: anyone but the result's submitter, once per result, inside its window, with the challenger bond.
///         - `proveTokenMismatch`, `finalize`, `releaseBond`, `refundTask`: anyone, when their conditions hold.
///         - `settleGame`: only this registry's DisputeGame (deployed in the constructor).
///         - `withdraw`: anyone with a credit.
///         Node counts, input roots and token indices are computed here from the task; nothing the
///         game decides on is the caller's word.
contract TaskRegistry is ITaskGame {
    /// @notice Semantic version of this contract.
    string public constant version = "0.2.0";

    /// @notice Upper bounds every task must meet (seconds). The floors depend on the task
    ///         (`minWindow`, `minClock`, GameBounds).
    uint64 public constant MAX_WINDOW = 30 days;
    uint64 public constant MAX_CLOCK = 7 days;
    /// @notice Where burned wei is credited: an account that can never withdraw.
    address public constant BURN_ADDRESS = address(0);
    /// @notice The largest quorum a task may ask for.
    uint8 public constant MAX_QUORUM = 16;
    /// @notice A task has at most 2^32 nodes, the accumulator's capacity.
    uint256 public constant MAX_NODES = 1 << 32;

    enum TaskStatus {
        None,
        Open,
        Finalized,
        Refunded
    }

    enum ResultStatus {
        None,
        Pending,
        Rejected,
        Finalized,
        Released,
        Committed,
        Forfeited
    }

    /// @notice A task (§6.3).
    struct Task {
        address requester;
        TaskStatus status;
        uint32 promptLength;
        uint32 newTokens;
        uint64 deadline;
        uint64 window;
        uint64 clock;
        uint64 nodes;
        uint32 pendingResults;
        uint32 unrevealed;
        uint64 winningResult;
        uint128 reward;
        uint32 vocab;
        uint128 submitterBond;
        uint128 challengerBond;
        bytes32 model;
        bytes32 inputRoot;
    }

    /// @notice A result (§6.3). `submittedAt` is its reveal's time (its window starts there);
    ///         `firstLive` indexes the earliest-opened game on it that may still be live.
    struct Result {
        uint64 taskId;
        address submitter;
        ResultStatus status;
        uint64 submittedAt;
        uint32 liveGames;
        uint64 committedBlock;
        uint64 committedAt;
        uint32 firstLive;
        bytes32 commitment;
        bytes32 finalState;
        bytes32 tokensHash;
    }

    /// @notice A game on a result, in opening order (one slot).
    struct GameRef {
        uint64 gameId;
        address challenger;
    }

    /// @notice The model registry tasks name models in.
    ModelRegistry public immutable models;
    /// @notice The game contract, deployed by this contract's constructor.
    DisputeGame public immutable games;

    /// @notice Number of tasks; ids are 1..taskCount.
    uint256 public taskCount;
    /// @notice Number of results; ids are 1..resultCount.
    uint256 public resultCount;
    /// @notice Withdrawable credit per account.
    mapping(address account => uint256) public credits;
    /// @notice Sum of all credits (for the solvency invariant: balance = totalCredits + totalLocked).
    uint256 public totalCredits;
    /// @notice Rewards of open tasks plus locked bonds.
    uint256 public totalLocked;
    /// @notice The result a submitter posted for a task (0: none).
    mapping(uint256 taskId => mapping(address submitter => uint256)) public resultOf;
    /// @notice The game a challenger opened against a result (0: none).
    mapping(uint256 resultId => mapping(address challenger => uint256)) public gameOf;
    /// @notice The lowest result id that revealed a claim keccak256(keccak256(tokens), S_n) on a task.
    mapping(uint256 taskId => mapping(bytes32 claim => uint256)) public earliestOf;
    /// @notice Whether a game has been settled (its result's books are closed for it).
    mapping(uint256 gameId => bool) public gameSettled;
    /// @notice The block a game was opened in.
    mapping(uint256 gameId => uint256) public gameOpenedBlock;
    /// @notice A task's quorum k (0: none), and how many of its first k commitments were made (§6.11).
    mapping(uint256 taskId => uint8) public quorumOf;
    mapping(uint256 taskId => uint8) public membersOf;
    /// @notice Whether a result is one of its task's first k commitments.
    mapping(uint256 resultId => bool) public quorumMember;
    /// @notice Reveals of a claim by quorum members.
    mapping(uint256 taskId => mapping(bytes32 claim => uint8)) public memberVotes;
    /// @notice The claim all k members revealed (0: none yet) and when.
    mapping(uint256 taskId => bytes32) public softFinalClaim;
    mapping(uint256 taskId => uint64) public softFinalAt;
    /// @notice Who was paid for proving a claim wrong (by a step or a token proof; 0: not disproven).
    mapping(uint256 taskId => mapping(bytes32 claim => address)) public disprover;

    mapping(uint256 taskId => Task) internal _tasks;
    mapping(uint256 resultId => Result) internal _results;
    mapping(uint256 resultId => GameRef[]) internal _gamesOf;

    /// @notice A task was posted.
    event TaskCreated(
        uint256 indexed taskId,
        address indexed requester,
        bytes32 indexed model,
        bytes input,
        uint32 newTokens,
        bytes32 inputRoot,
        uint128 reward
    );
    /// @notice A submitter committed to a result.
    event ResultCommitted(uint256 indexed resultId, uint256 indexed taskId, address indexed submitter, bytes32 commitment);
    /// @notice A commitment was revealed: the result is pending and its window runs.
    event ResultRevealed(
        uint256 indexed resultId, uint256 indexed taskId, address indexed submitter, bytes tokens, bytes32 finalState
    );
    /// @notice A commitment never revealed forfeited its bond to the requester.
    event BondForfeited(uint256 indexed resultId, address indexed requester);
    /// @notice A game was opened against a result.
    event Challenged(uint256 indexed resultId, uint256 indexed gameId, address indexed challenger);
    /// @notice A result was rejected (it lost a game or a token proof); `payee` took half its bond.
    event ResultRejected(uint256 indexed resultId, address indexed payee);
    /// @notice A game's bonds were settled.
    event GameSettled(uint256 indexed resultId, address indexed challenger, Outcome outcome);
    /// @notice A task was finalized with a result.
    event TaskFinalized(uint256 indexed taskId, uint256 indexed resultId, address indexed submitter);
    /// @notice A result's bond was released after its task ended.
    event BondReleased(uint256 indexed resultId, address indexed submitter);
    /// @notice A quorum task: its first `quorum` commitments are its members (§6.11).
    event QuorumRequested(uint256 indexed taskId, uint8 quorum);
    /// @notice All k members revealed the same claim: the task is soft-final on it (§6.11).
    event SoftFinal(uint256 indexed taskId, bytes32 indexed claim, uint256 resultId);
    /// @notice A claim was proven wrong by a step or a token proof: every result making it can be slashed.
    event ClaimDisproven(uint256 indexed taskId, bytes32 indexed claim, address indexed disprover);
    /// @notice A task was refunded to its requester.
    event TaskRefunded(uint256 indexed taskId);
    /// @notice An account was credited.
    event Credited(address indexed account, uint256 amount);
    /// @notice An account withdrew its credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice No task has this id.
    error UnknownTask(uint256 taskId);
    /// @notice No result has this id.
    error UnknownResult(uint256 resultId);
    /// @notice The task input is malformed. reason: 0 length, 1 token out of range, 2 too many nodes.
    error InvalidInput(uint8 reason);
    /// @notice A task parameter is out of bounds. reason: 0 N, 1 deadline, 2 window, 3 clock,
    ///         4 a bond below MIN_BOND, 5 bonds outside the ratio.
    error InvalidParams(uint8 reason);
    /// @notice The value sent is not what the call requires.
    error WrongValue(uint256 expected, uint256 given);
    /// @notice The task's deadline for results has passed.
    error PastDeadline();
    /// @notice The result's challenge window has closed.
    error WindowClosed();
    /// @notice The result's challenge window is still open.
    error WindowOpen();
    /// @notice This submitter already posted a result for this task.
    error AlreadySubmitted(uint256 resultId);
    /// @notice This challenger already opened a game against this result.
    error AlreadyChallenged(uint256 gameId);
    /// @notice The result is not pending.
    error ResultNotPending();
    /// @notice The task is not open.
    error TaskNotOpen();
    /// @notice The result still has live games.
    error GamesLive(uint32 liveGames);
    /// @notice The tokens given are not the result's.
    error TokensMismatch();
    /// @notice The token agrees with its argmax leaf: nothing to prove.
    error TokenMatches();
    /// @notice The token index is not below N.
    error TokenIndexOutOfRange(uint256 k);
    /// @notice The argmax leaf's path does not prove it under S_n.
    error InvalidProof();
    /// @notice The task cannot be refunded (deadline not passed, or a result pending).
    error NotRefundable();
    /// @notice The caller has no credit.
    error NothingToWithdraw();
    /// @notice Only this registry's DisputeGame may settle games.
    error OnlyGame();
    /// @notice A transfer failed.
    error TransferFailed();
    /// @notice The result is not an unrevealed commitment.
    error NotCommitted();
    /// @notice A commitment is revealed in a later block than its own.
    error RevealTooEarly();
    /// @notice The task's reveal period is over.
    error RevealClosed();
    /// @notice The preimage does not hash to the commitment.
    error CommitmentMismatch();
    /// @notice The commitment's reveal period is still running.
    error RevealOpen();
    /// @notice An earlier commitment of the same claim is still pending: only it can be paid.
    /// @param resultId The earlier result.
    error EarlierCommitment(uint256 resultId);
    /// @notice The account is tied to the result (its submitter) and may not challenge it.
    /// @param account The account.
    error TiedParty(address account);
    /// @notice The quorum is outside 2..MAX_QUORUM.
    error InvalidQuorum(uint8 quorum);
    /// @notice The result's claim has not been proven wrong.
    error NotDisproven();
    /// @notice The result's claim has been proven wrong: it can never be final.
    error ClaimIsDisproven();
    /// @notice A token proof's recipient must be the challenger of a live game on the result,
    ///         opened in an earlier block, so a rewritten copy of the proof pays nobody new.
    /// @param recipient The recipient named.
    error NotAChallenger(address recipient);

    /// @param models_ The model registry.
    /// @param link_   The phase link.
    /// @param mips_   The single-step VM.
    constructor(ModelRegistry models_, NodeLink link_, MIPS mips_) {
        models = models_;
        games = new DisputeGame(this, link_, mips_);
    }

    /// @notice Post a task (§6.3). The value sent is the reward.
    /// @param model          The registered model's id.
    /// @param input          LLaMA: the prompt as i32 big-endian; MLP: the raw u8 input vector.
    /// @param newTokens      N, the tokens to generate (1 for an MLP).
    /// @param deadline       Last second a result may be posted.
    /// @param window         Each result's challenge window, in seconds (≥ minWindow of the task).
    /// @param clock          Each game party's initial chess clock, in seconds (≥ minClock of the task).
    /// @param submitterBond  The bond a submitter locks.
    /// @param challengerBond The bond a challenger locks per game.
    /// @return taskId        The new task's id.
    function createTask(
        bytes32 model,
        bytes calldata input,
        uint32 newTokens,
        uint64 deadline,
        uint64 window,
        uint64 clock,
        uint128 submitterBond,
        uint128 challengerBond
    ) external payable returns (uint256 taskId) {
        taskId = _createTask(model, input, newTokens, deadline, window, clock, submitterBond, challengerBond);
    }

    /// @notice Post a task that asks for a quorum of `quorum` submitters (§6.11): its first
    ///         `quorum` commitments are the members, and when all of them reveal the same claim
    ///         the task is soft-final on it at once. Finalization and games are unchanged.
    /// @dev    The other parameters are createTask's.
    /// @param quorum k, 2..MAX_QUORUM.
    /// @return taskId The new task's id.
    function createQuorumTask(
        bytes32 model,
        bytes calldata input,
        uint32 newTokens,
        uint64 deadline,
        uint64 window,
        uint64 clock,
        uint128 submitterBond,
        uint128 challengerBond,
        uint8 quorum
    ) external payable returns (uint256 taskId) {
        if (quorum < 2 || quorum > MAX_QUORUM) revert InvalidQuorum(quorum);
        taskId = _createTask(model, input, newTokens, deadline, window, clock, submitterBond, challengerBond);
        quorumOf[taskId] = quorum;
        emit QuorumRequested(taskId, quorum);
    }

    /// @dev createTask's checks and storage (§6.3).
    function _createTask(
        bytes32 model,
        bytes calldata input,
        uint32 newTokens,
        uint64 deadline,
        uint64 window,
        uint64 clock,
        uint128 submitterBond,
        uint128 challengerBond
    ) internal returns (uint256 taskId) {
        if (deadline <= block.timestamp) revert InvalidParams(1);
        uint8 bonds = GameBounds.bondsReason(submitterBond, challengerBond);
        if (bonds != 0) revert InvalidParams(bonds);
        taskId = ++taskCount;
        Task storage t = _tasks[taskId];
        t.requester = msg.sender;
        t.status = TaskStatus.Open;
        t.newTokens = newTokens;
        t.deadline = deadline;
        t.window = window;
        t.clock = clock;
        t.reward = uint128(msg.value);
        t.submitterBond = submitterBond;
        t.challengerBond = challengerBond;
        t.model = model;
        uint256 stepCap = _storeInput(t, input);
        // The floors depend on the task's size, known only once its input is checked (H-1).
        if (window < GameBounds.minWindow(t.nodes, stepCap) || window > MAX_WINDOW) revert InvalidParams(2);
        if (clock < GameBounds.minClock(t.nodes, stepCap) || clock > MAX_CLOCK) revert InvalidParams(3);
        totalLocked += msg.value;
        emit TaskCreated(taskId, msg.sender, model, input, newTokens, t.inputRoot, t.reward);
    }

    /// @notice Commit to a result with the submitter bond as value (§6.3, attack H-2). The
    ///         commitment binds the submitter, so nobody else can reveal it as theirs.
    /// @param taskId     The task.
    /// @param commitment keccak256(tokens ‖ S_n ‖ submitter ‖ salt), packed.
    /// @return resultId  The new result's id; lower ids committed earlier.
    function commitResult(uint256 taskId, bytes32 commitment) external payable returns (uint256 resultId) {
        Task storage t = _task(taskId);
        if (t.status != TaskStatus.Open) revert TaskNotOpen();
        if (block.timestamp > t.deadline) revert PastDeadline();
        if (msg.value != t.submitterBond) revert WrongValue(t.submitterBond, msg.value);
        uint256 existing = resultOf[taskId][msg.sender];
        if (existing != 0) revert AlreadySubmitted(existing);
        resultId = ++resultCount;
        Result storage r = _results[resultId];
        r.taskId = uint64(taskId);
        r.submitter = msg.sender;
        r.status = ResultStatus.Committed;
        r.committedBlock = uint64(block.number);
        r.committedAt = uint64(block.timestamp);
        r.commitment = commitment;
        resultOf[taskId][msg.sender] = resultId;
        t.pendingResults++;
        t.unrevealed++;
        if (membersOf[taskId] < quorumOf[taskId]) {
            membersOf[taskId]++;
            quorumMember[resultId] = true;
        }
        totalLocked += msg.value;
        emit ResultCommitted(resultId, taskId, msg.sender, commitment);
    }

    /// @notice Reveal a commitment (§6.3): the result becomes pending and its window starts.
    /// @param resultId   The committed result.
    /// @param tokens     The N generated tokens, i32 big-endian.
    /// @param finalState S_n, the phase-2 accumulator over every node output.
    /// @param salt       The commitment's salt.
    function revealResult(uint256 resultId, bytes calldata tokens, bytes32 finalState, bytes32 salt) external {
        Result storage r = _result(resultId);
        if (r.status != ResultStatus.Committed) revert NotCommitted();
        // A reveal in the mempool must not be front-run by a commit-and-reveal ahead of it.
        if (block.number <= r.committedBlock) revert RevealTooEarly();
        uint256 taskId = r.taskId;
        Task storage t = _tasks[taskId];
        if (block.timestamp >= uint256(r.committedAt) + GameBounds.REVEAL_PERIOD) revert RevealClosed();
        if (keccak256(abi.encodePacked(tokens, finalState, r.submitter, salt)) != r.commitment) {
            revert CommitmentMismatch();
        }
        if (tokens.length != 4 * uint256(t.newTokens)) revert InvalidInput(0);
        uint256 vocab = t.vocab;
        for (uint256 k = 0; k < tokens.length; k += 4) {
            if (uint32(bytes4(tokens[k:k + 4])) >= vocab) revert InvalidInput(1);
        }
        bytes32 tokensHash = keccak256(tokens);
        r.status = ResultStatus.Pending;
        r.submittedAt = uint64(block.timestamp);
        r.finalState = finalState;
        r.tokensHash = tokensHash;
        t.unrevealed--;
        bytes32 claim = keccak256(abi.encode(tokensHash, finalState));
        uint256 earliest = earliestOf[taskId][claim];
        if (earliest == 0 || resultId < earliest) earliestOf[taskId][claim] = resultId;
        emit ResultRevealed(resultId, taskId, r.submitter, tokens, finalState);
        // All k members agree: soft-final at once (§6.11); disagreement is left to the games.
        if (quorumMember[resultId] && ++memberVotes[taskId][claim] == quorumOf[taskId]) {
            softFinalClaim[taskId] = claim;
            softFinalAt[taskId] = uint64(block.timestamp);
            emit SoftFinal(taskId, claim, resultId);
        }
    }

    /// @notice Open a dispute game against a result, with the challenger bond as value (§6.3).
    /// @param resultId The disputed result.
    /// @return gameId  The game's id in `games`.
    function challenge(uint256 resultId) external payable returns (uint256 gameId) {
        Result storage r = _result(resultId);
        if (r.status != ResultStatus.Pending) revert ResultNotPending();
        Task storage t = _tasks[r.taskId];
        if (block.timestamp >= uint256(r.submittedAt) + t.window) revert WindowClosed();
        if (msg.value != t.challengerBond) revert WrongValue(t.challengerBond, msg.value);
        if (msg.sender == r.submitter) revert TiedParty(msg.sender);
        uint256 existing = gameOf[resultId][msg.sender];
        if (existing != 0) revert AlreadyChallenged(existing);
        r.liveGames++;
        totalLocked += msg.value;
        gameId = games.open(resultId, r.taskId, msg.sender, r.submitter, t.nodes, r.finalState, t.clock);
        gameOf[resultId][msg.sender] = gameId;
        _gamesOf[resultId].push(GameRef(uint64(gameId), msg.sender));
        gameOpenedBlock[gameId] = block.number;
        emit Challenged(resultId, gameId, msg.sender);
    }

    /// @notice Reject a result whose token k differs from its own argmax leaf of S_n (§6.3).
    ///         `recipient` must be the challenger of a live game on the result opened in an
    ///         earlier block (M-2): the proof is bound to a game, so a copy, verbatim or with
    ///         another recipient, earns its sender nothing. The payee is the earliest-opened
    ///         live game on the result (M-1), never the caller as such.
    /// @param resultId The result.
    /// @param tokens   The result's tokens (checked against the stored hash).
    /// @param k        The token's index, 0 ≤ k < N.
    /// @param leaf     Leaf (P − 1 + k)·n_f + j_argmax of S_n.
    /// @param path     Its compact path (depth 32).
    /// @param recipient The challenger of a live game on the result, opened in an earlier block.
    function proveTokenMismatch(
        uint256 resultId,
        bytes calldata tokens,
        uint256 k,
        bytes32 leaf,
        bytes calldata path,
        address recipient
    ) external {
        Result storage r = _result(resultId);
        if (r.status != ResultStatus.Pending) revert ResultNotPending();
        if (keccak256(tokens) != r.tokensHash) revert TokensMismatch();
        Task storage t = _tasks[r.taskId];
        if (k >= t.newTokens) revert TokenIndexOutOfRange(k);
        ModelSpec memory m = models.model(t.model);
        uint256 index = (uint256(t.promptLength) - 1 + k) * m.nF + m.jArgmax;
        if (!MerklePath.verify(r.finalState, leaf, index, 32, path)) revert InvalidProof();
        // As an i32 [1] tensor, token k's root is its 4 bytes followed by zeros.
        if (leaf == bytes32(tokens[4 * k:4 * k + 4])) revert TokenMatches();
        _requireBoundRecipient(resultId, recipient);
        _disprove(r, _reject(resultId, r, t, recipient));
    }

    /// @notice Finalize a task with a result whose window has passed and whose games all ended
    ///         for it, and only for the earliest pending commitment of its claim (§6.3, H-2),
    ///         which is known by then (every earlier reveal period has ended). Credits the
    ///         submitter the reward and its bond.
    /// @param resultId The result.
    function finalize(uint256 resultId) external {
        Result storage r = _result(resultId);
        if (r.status != ResultStatus.Pending) revert ResultNotPending();
        Task storage t = _tasks[r.taskId];
        if (t.status != TaskStatus.Open) revert TaskNotOpen();
        if (block.timestamp < uint256(r.submittedAt) + t.window) revert WindowOpen();
        if (r.liveGames != 0) revert GamesLive(r.liveGames);
        // Every commitment earlier than this result's was made before it, so its reveal period
        // (≤ WINDOW_BASE ≤ window) has ended: the earliest commitment of the claim is known.
        bytes32 claim = _claimOf(r);
        if (disprover[r.taskId][claim] != address(0)) revert ClaimIsDisproven();
        uint256 earliest = earliestOf[r.taskId][claim];
        if (earliest != resultId && _results[earliest].status == ResultStatus.Pending) {
            revert EarlierCommitment(earliest);
        }
        t.status = TaskStatus.Finalized;
        t.winningResult = uint64(resultId);
        t.pendingResults--;
        r.status = ResultStatus.Finalized;
        uint256 amount = uint256(t.reward) + t.submitterBond;
        totalLocked -= amount;
        _credit(r.submitter, amount);
        emit TaskFinalized(r.taskId, resultId, r.submitter);
    }

    /// @notice Return the bond of a pending result with no live game once its own window has
    ///         passed and its task is finalized (L-1); or forfeit to the requester the bond of a
    ///         commitment never revealed by the end of the reveal period.
    /// @param resultId The result.
    function releaseBond(uint256 resultId) external {
        Result storage r = _result(resultId);
        Task storage t = _tasks[r.taskId];
        if (r.status == ResultStatus.Committed) {
            if (block.timestamp < uint256(r.committedAt) + GameBounds.REVEAL_PERIOD) revert RevealOpen();
            r.status = ResultStatus.Forfeited;
            t.pendingResults--;
            t.unrevealed--;
            totalLocked -= t.submitterBond;
            _credit(t.requester, t.submitterBond);
            emit BondForfeited(resultId, t.requester);
            return;
        }
        if (r.status != ResultStatus.Pending) revert ResultNotPending();
        if (t.status != TaskStatus.Finalized) revert TaskNotOpen();
        // A wrong result stays challengeable through its own window, whatever won the task.
        if (block.timestamp < uint256(r.submittedAt) + t.window) revert WindowOpen();
        if (r.liveGames != 0) revert GamesLive(r.liveGames);
        r.status = ResultStatus.Released;
        t.pendingResults--;
        totalLocked -= t.submitterBond;
        _credit(r.submitter, t.submitterBond);
        emit BondReleased(resultId, r.submitter);
    }

    /// @notice Refund the reward of a task past its deadline with no committed or pending result.
    /// @param taskId The task.
    function refundTask(uint256 taskId) external {
        Task storage t = _task(taskId);
        if (t.status != TaskStatus.Open) revert TaskNotOpen();
        if (block.timestamp <= t.deadline || t.pendingResults != 0) revert NotRefundable();
        t.status = TaskStatus.Refunded;
        totalLocked -= t.reward;
        _credit(t.requester, t.reward);
        emit TaskRefunded(taskId);
    }

    /// @notice Withdraw the caller's whole credit.
    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        totalCredits -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// @inheritdoc ITaskGame
    function settleGame(uint256 gameId, uint256 resultId, address challenger, Outcome outcome) external {
        if (msg.sender != address(games)) revert OnlyGame();
        Result storage r = _results[resultId];
        Task storage t = _tasks[r.taskId];
        r.liveGames--;
        if (r.status != ResultStatus.Pending) outcome = Outcome.Refund; // the result is already decided
        emit GameSettled(resultId, challenger, outcome);
        // The deciding game is still live when the payee is chosen (§6.3), so mark it after.
        if (outcome == Outcome.ChallengerWon || outcome == Outcome.Disproved) {
            address payee = _reject(resultId, r, t, challenger);
            if (outcome == Outcome.Disproved) _disprove(r, payee);
        }
        gameSettled[gameId] = true;
        // Move the earliest-live pointer past this game now, so games a submitter wins are paid
        // for by their own settlement, never by the rejection that may come later.
        if (r.status == ResultStatus.Pending) _earliestLiveChallenger(resultId, r);
        address to = outcome == Outcome.SubmitterWon ? r.submitter : challenger;
        totalLocked -= t.challengerBond;
        _credit(to, t.challengerBond);
    }

    /// @notice Reject a pending result whose claim was proven wrong on another result (§6.11):
    ///         a soft-final claim shown wrong slashes every agreeing submitter. The payee is the
    ///         result's earliest live game, else whoever disproved the claim.
    /// @param resultId The result.
    function slashDisproven(uint256 resultId) external {
        Result storage r = _result(resultId);
        if (r.status != ResultStatus.Pending) revert ResultNotPending();
        address paid = disprover[r.taskId][_claimOf(r)];
        if (paid == address(0)) revert NotDisproven();
        _reject(resultId, r, _tasks[r.taskId], paid);
    }

    /// @notice The claim a task is soft-final on, unless it was since proven wrong (§6.11).
    /// @param taskId The task.
    /// @return isFinal Whether all k members agree and the claim stands.
    /// @return claim   keccak256(abi.encode(keccak256(tokens), S_n)).
    function softFinal(uint256 taskId) external view returns (bool isFinal, bytes32 claim) {
        claim = softFinalClaim[taskId];
        isFinal = claim != bytes32(0) && disprover[taskId][claim] == address(0);
    }

    /// @inheritdoc ITaskGame
    function nodeContext(uint256 taskId) external view returns (NodeContext memory ctx) {
        Task storage t = _task(taskId);
        ModelSpec memory m = models.model(t.model);
        ctx.weightRoot = m.weightRoot;
        ctx.graphRoot = m.graphRoot;
        ctx.programsRoot = m.programsRoot;
        ctx.nF = m.nF;
        ctx.jArgmax = m.jArgmax;
        ctx.nWeights = m.nWeights;
        ctx.nPrograms = m.nPrograms;
        ctx.arch = m.arch;
        ctx.stepCap = m.stepCap;
        ctx.promptLength = t.promptLength;
        ctx.inputRoot = t.inputRoot;
    }

    /// @inheritdoc ITaskGame
    function resultPending(uint256 resultId) external view returns (bool) {
        return _result(resultId).status == ResultStatus.Pending;
    }

    /// @notice A task.
    /// @param taskId The task.
    /// @return The task.
    function task(uint256 taskId) external view returns (Task memory) {
        return _task(taskId);
    }

    /// @notice A result.
    /// @param resultId The result.
    /// @return The result.
    function result(uint256 resultId) external view returns (Result memory) {
        return _result(resultId);
    }

    /// @notice The window floor of a task of `nodes` nodes on a model of step cap `stepCap` (§6.3).
    /// @param nodes   The task's node count.
    /// @param stepCap The model's K.
    /// @return The least window createTask accepts, in seconds.
    function minWindow(uint256 nodes, uint256 stepCap) external pure returns (uint256) {
        return GameBounds.minWindow(nodes, stepCap);
    }

    /// @notice The clock floor of a task of `nodes` nodes on a model of step cap `stepCap` (§6.3).
    /// @param nodes   The task's node count.
    /// @param stepCap The model's K.
    /// @return The least clock createTask accepts, in seconds.
    function minClock(uint256 nodes, uint256 stepCap) external pure returns (uint256) {
        return GameBounds.minClock(nodes, stepCap);
    }

    /// @notice The games opened on a result, in opening order.
    /// @param resultId The result.
    /// @return The games and their challengers.
    function gamesOf(uint256 resultId) external view returns (GameRef[] memory) {
        return _gamesOf[resultId];
    }

    /// @dev Validate a task's input against its model (§6.3) and store P, n and the input root.
    ///      Returns the model's step cap K, for the clock floor.
    function _storeInput(Task storage t, bytes calldata input) internal returns (uint256 stepCap) {
        ModelSpec memory m = models.model(t.model);
        uint256 n = t.newTokens;
        if (n == 0) revert InvalidParams(0);
        uint256 p;
        if (m.arch == models.ARCH_MLP()) {
            if (input.length != m.inputBytes) revert InvalidInput(0);
            if (n != 1) revert InvalidParams(0);
            p = 1;
        } else {
            if (input.length == 0 || input.length % 4 != 0) revert InvalidInput(0);
            p = input.length / 4;
            if (p + n - 1 > m.context) revert InvalidInput(0);
            for (uint256 k = 0; k < input.length; k += 4) {
                if (uint32(bytes4(input[k:k + 4])) >= m.vocab) revert InvalidInput(1);
            }
        }
        uint256 nodes = (p + n - 1) * m.nF;
        if (nodes > MAX_NODES) revert InvalidInput(2);
        t.promptLength = uint32(p);
        t.nodes = uint64(nodes);
        t.vocab = m.vocab;
        (t.inputRoot,) = MerkleMemory.tensorRoot(input);
        stepCap = m.stepCap;
    }

    /// @dev Reject a pending result (§6.3): half its bond to the earliest-opened live game's
    ///      challenger, or `fallbackPayee` if none is live; a quarter to the requester; the rest
    ///      burned. Challenger bonds are settled by their own games.
    function _reject(uint256 resultId, Result storage r, Task storage t, address fallbackPayee)
        internal
        returns (address payee)
    {
        r.status = ResultStatus.Rejected;
        t.pendingResults--;
        payee = _earliestLiveChallenger(resultId, r);
        if (payee == address(0)) payee = fallbackPayee;
        (uint256 toPayee, uint256 toRequester, uint256 burned) = GameBounds.split(t.submitterBond);
        totalLocked -= t.submitterBond;
        _credit(payee, toPayee);
        _credit(t.requester, toRequester);
        _credit(BURN_ADDRESS, burned);
        emit ResultRejected(resultId, payee);
    }

    /// @dev A result's claim: keccak256(abi.encode(keccak256(tokens), S_n)).
    function _claimOf(Result storage r) internal view returns (bytes32) {
        return keccak256(abi.encode(r.tokensHash, r.finalState));
    }

    /// @dev Record that `r`'s claim is wrong (proven by a step or a token proof), paid to `payee`.
    function _disprove(Result storage r, address payee) internal {
        bytes32 claim = _claimOf(r);
        if (disprover[r.taskId][claim] != address(0)) return;
        disprover[r.taskId][claim] = payee;
        emit ClaimDisproven(r.taskId, claim, payee);
    }

    /// @dev Revert unless `recipient` has a game on the result that is live and was opened in an
    ///      earlier block than this call.
    function _requireBoundRecipient(uint256 resultId, address recipient) internal view {
        uint256 gameId = gameOf[resultId][recipient];
        if (gameId == 0 || gameSettled[gameId] || gameOpenedBlock[gameId] >= block.number) {
            revert NotAChallenger(recipient);
        }
    }

    /// @dev The challenger of the earliest-opened game on a result not yet settled (address(0)
    ///      if none). Settled games are skipped for good, so the walk costs O(1) amortized.
    function _earliestLiveChallenger(uint256 resultId, Result storage r) internal returns (address) {
        GameRef[] storage refs = _gamesOf[resultId];
        uint256 k = r.firstLive;
        while (k < refs.length && gameSettled[refs[k].gameId]) k++;
        r.firstLive = uint32(k);
        return k < refs.length ? refs[k].challenger : address(0);
    }

    /// @dev Add to an account's withdrawable credit.
    function _credit(address account, uint256 amount) internal {
        credits[account] += amount;
        totalCredits += amount;
        emit Credited(account, amount);
    }

    /// @dev A task that exists.
    function _task(uint256 taskId) internal view returns (Task storage t) {
        t = _tasks[taskId];
        if (t.status == TaskStatus.None) revert UnknownTask(taskId);
    }

    /// @dev A result that exists.
    function _result(uint256 resultId) internal view returns (Result storage r) {
        r = _results[resultId];
        if (r.status == ResultStatus.None) revert UnknownResult(resultId);
    }
}
