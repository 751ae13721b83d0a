/* @ts-self-types="./automerge_wasm.d.ts" */

export class Automerge {
    static __wrap(ptr) {
        const obj = Object.create(Automerge.prototype);
        obj.__wbg_ptr = ptr;
        AutomergeFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        AutomergeFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        __wbg_call_guard();
        try {
            wasm.__wbg_automerge_free(ptr, 0);
        } catch(e) {
            __wbg_handle_catch(e);
        }

    }
    /**
     * @param {Commit[]} commits
     */
    addCommits(commits) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_addCommits(this.__wbg_ptr, commits);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {Fragment[]} fragments
     */
    addFragments(fragments) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_addFragments(this.__wbg_ptr, fragments);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * Return a copy of this document with its data anonymized while retaining its history and
     * structural shape.
     * @returns {Automerge}
     */
    anonymize() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_anonymize(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return Automerge.__wrap(ret[0]);
    }
    /**
     * @param {any} object
     * @param {any} meta
     * @returns {any}
     */
    applyAndReturnPatches(object, meta) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_applyAndReturnPatches(this.__wbg_ptr, object, meta);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {Change[]} changes
     */
    applyChanges(changes) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_applyChanges(this.__wbg_ptr, changes);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {any} object
     * @param {any} meta
     * @returns {any}
     */
    applyPatches(object, meta) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_applyPatches(this.__wbg_ptr, object, meta);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {FragmentMeta[]} fragments
     * @returns {Uint8Array[]}
     */
    bundleFragmentMetadata(fragments) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_bundleFragmentMetadata(this.__wbg_ptr, fragments);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {string | null} [actor]
     * @returns {Automerge}
     */
    clone(actor) {
        var ptr0 = isLikeNone(actor) ? 0 : passStringToWasm0(actor, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        var len0 = WASM_VECTOR_LEN;
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_clone(this.__wbg_ptr, ptr0, len0);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return Automerge.__wrap(ret[0]);
    }
    /**
     * @param {string | null} [message]
     * @param {number | null} [time]
     * @returns {Hash | null}
     */
    commit(message, time) {
        var ptr0 = isLikeNone(message) ? 0 : passStringToWasm0(message, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        var len0 = WASM_VECTOR_LEN;
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_commit(this.__wbg_ptr, ptr0, len0, !isLikeNone(time), isLikeNone(time) ? 0 : time);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {ObjID} obj
     * @param {Prop} prop
     */
    delete(obj, prop) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_delete(this.__wbg_ptr, obj, prop);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {Heads} before
     * @param {Heads} after
     * @returns {Patch[]}
     */
    diff(before, after) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_diff(this.__wbg_ptr, before, after);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @returns {Patch[]}
     */
    diffIncremental() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_diffIncremental(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {Prop[] | string} path
     * @param {Heads} before
     * @param {Heads} after
     * @param {any} options
     * @returns {Array<any>}
     */
    diffPath(path, before, after, options) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_diffPath(this.__wbg_ptr, path, before, after, options);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    dump() {
        __wbg_call_guard();
        try {
            wasm.automerge_dump(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
    }
    /**
     * @param {string | null} [message]
     * @param {number | null} [time]
     * @returns {Hash}
     */
    emptyChange(message, time) {
        var ptr0 = isLikeNone(message) ? 0 : passStringToWasm0(message, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        var len0 = WASM_VECTOR_LEN;
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_emptyChange(this.__wbg_ptr, ptr0, len0, !isLikeNone(time), isLikeNone(time) ? 0 : time);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {boolean} enable
     * @returns {boolean}
     */
    enableFreeze(enable) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_enableFreeze(this.__wbg_ptr, enable);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return ret[0] !== 0;
    }
    /**
     * @param {string | null | undefined} actor
     * @param {any} heads
     * @returns {Automerge}
     */
    fork(actor, heads) {
        var ptr0 = isLikeNone(actor) ? 0 : passStringToWasm0(actor, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        var len0 = WASM_VECTOR_LEN;
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_fork(this.__wbg_ptr, ptr0, len0, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return Automerge.__wrap(ret[0]);
    }
    /**
     * @param {SyncState} state
     * @returns {SyncMessage | null}
     */
    generateSyncMessage(state) {
        _assertClass(state, SyncState);
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_generateSyncMessage(this.__wbg_ptr, state.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {any} obj
     * @param {any} prop
     * @param {any} heads
     * @returns {any}
     */
    get(obj, prop, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_get(this.__wbg_ptr, obj, prop, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @returns {Actor}
     */
    getActorId() {
        let deferred1_0;
        let deferred1_1;
        try {
            let ret;
            __wbg_call_guard();
            try {
                ret = wasm.automerge_getActorId(this.__wbg_ptr);
            } catch(e) {
                __wbg_handle_catch(e);
            }
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            __wbg_call_guard();
            try {
                wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
            } catch(e) {
                __wbg_handle_catch(e);
            }
        }
    }
    /**
     * @param {string} author
     * @returns {Actor[]}
     */
    getActorsForAuthor(author) {
        const ptr0 = passStringToWasm0(author, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getActorsForAuthor(this.__wbg_ptr, ptr0, len0);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {any} obj
     * @param {any} arg
     * @param {any} heads
     * @returns {Array<any>}
     */
    getAll(obj, arg, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getAll(this.__wbg_ptr, obj, arg, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @returns {Author | null}
     */
    getAuthor() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getAuthor(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        let v1;
        if (ret[0] !== 0) {
            v1 = getStringFromWasm0(ret[0], ret[1]);
            wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
        }
        return v1;
    }
    /**
     * @param {string} actor
     * @returns {Author | null}
     */
    getAuthorForActor(actor) {
        const ptr0 = passStringToWasm0(actor, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getAuthorForActor(this.__wbg_ptr, ptr0, len0);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[3]) {
            throw takeFromExternrefTable0(ret[2]);
        }
        let v2;
        if (ret[0] !== 0) {
            v2 = getStringFromWasm0(ret[0], ret[1]);
            wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
        }
        return v2;
    }
    /**
     * @returns {Author[]}
     */
    getAuthors() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getAuthors(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {any} text
     * @param {number} index
     * @param {any} heads
     * @returns {any}
     */
    getBlock(text, index, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getBlock(this.__wbg_ptr, text, index, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {Hash} hash
     * @returns {Change | null}
     */
    getChangeByHash(hash) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getChangeByHash(this.__wbg_ptr, hash);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {Hash} hash
     * @returns {ChangeMetadata | null}
     */
    getChangeMetaByHash(hash) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getChangeMetaByHash(this.__wbg_ptr, hash);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {Heads} have_deps
     * @returns {Change[]}
     */
    getChanges(have_deps) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getChanges(this.__wbg_ptr, have_deps);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {Automerge} other
     * @returns {Change[]}
     */
    getChangesAdded(other) {
        _assertClass(other, Automerge);
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getChangesAdded(this.__wbg_ptr, other.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {Heads} have_deps
     * @returns {ChangeMetadata[]}
     */
    getChangesMeta(have_deps) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getChangesMeta(this.__wbg_ptr, have_deps);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {any} obj
     * @param {any} position
     * @param {any} heads
     * @param {any} move_cursor
     * @returns {string}
     */
    getCursor(obj, position, heads, move_cursor) {
        let deferred2_0;
        let deferred2_1;
        try {
            let ret;
            __wbg_call_guard();
            try {
                ret = wasm.automerge_getCursor(this.__wbg_ptr, obj, position, heads, move_cursor);
            } catch(e) {
                __wbg_handle_catch(e);
            }
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            __wbg_call_guard();
            try {
                wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
            } catch(e) {
                __wbg_handle_catch(e);
            }
        }
    }
    /**
     * @param {any} obj
     * @param {any} cursor
     * @param {any} heads
     * @returns {number}
     */
    getCursorPosition(obj, cursor, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getCursorPosition(this.__wbg_ptr, obj, cursor, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return ret[0];
    }
    /**
     * @param {Hash} hash
     * @returns {DecodedChange | null}
     */
    getDecodedChangeByHash(hash) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getDecodedChangeByHash(this.__wbg_ptr, hash);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {Hash} head
     * @returns {FragmentMeta | null}
     */
    getFragmentMeta(head) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getFragmentMeta(this.__wbg_ptr, head);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {FragmentLevelRange} levels
     * @returns {FragmentMeta[]}
     */
    getFragmentMetadata(levels) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getFragmentMetadata(this.__wbg_ptr, levels);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @returns {Heads}
     */
    getHeads() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getHeads(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @returns {Change | null}
     */
    getLastLocalChange() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getLastLocalChange(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {any} heads
     * @returns {Array<any>}
     */
    getMissingDeps(heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getMissingDeps(this.__wbg_ptr, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {any} obj
     * @param {any} prop
     * @param {any} heads
     * @returns {any}
     */
    getWithType(obj, prop, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_getWithType(this.__wbg_ptr, obj, prop, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {SyncState} state
     * @returns {boolean}
     */
    hasOurChanges(state) {
        _assertClass(state, SyncState);
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_hasOurChanges(this.__wbg_ptr, state.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret !== 0;
    }
    /**
     * @param {ObjID} obj
     * @param {Prop} prop
     * @param {number} value
     */
    increment(obj, prop, value) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_increment(this.__wbg_ptr, obj, prop, value);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * Initialize the root object of an empty document from a JS object.
     * This is much faster than setting keys one at a time for large initial states.
     * @param {any} value
     */
    initRootFromHydrate(value) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_initRootFromHydrate(this.__wbg_ptr, value);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {any} obj
     * @param {number} index
     * @param {any} value
     * @param {any} datatype
     */
    insert(obj, index, value, datatype) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_insert(this.__wbg_ptr, obj, index, value, datatype);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {ObjID} obj
     * @param {number} index
     * @param {ObjType} value
     * @returns {ObjID}
     */
    insertObject(obj, index, value) {
        let deferred2_0;
        let deferred2_1;
        try {
            let ret;
            __wbg_call_guard();
            try {
                ret = wasm.automerge_insertObject(this.__wbg_ptr, obj, index, value);
            } catch(e) {
                __wbg_handle_catch(e);
            }
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            __wbg_call_guard();
            try {
                wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
            } catch(e) {
                __wbg_handle_catch(e);
            }
        }
    }
    /**
     * Insert a nested JavaScript value into a list using batch insertion.
     * This is much faster than insertObject for large nested objects.
     * The value is inserted at the given index, shifting subsequent elements.
     * @param {ObjID} obj
     * @param {number} index
     * @param {any} value
     * @returns {ObjID}
     */
    insertObjectFromHydrate(obj, index, value) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_insertObjectFromHydrate(this.__wbg_ptr, obj, index, value);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    integrate() {
        __wbg_call_guard();
        try {
            wasm.automerge_integrate(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
    }
    /**
     * @param {Heads} heads
     */
    isolate(heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_isolate(this.__wbg_ptr, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {ObjID} obj
     * @param {number} index
     */
    joinBlock(obj, index) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_joinBlock(this.__wbg_ptr, obj, index);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {any} obj
     * @param {any} heads
     * @returns {Array<any>}
     */
    keys(obj, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_keys(this.__wbg_ptr, obj, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {any} obj
     * @param {any} heads
     * @returns {number}
     */
    length(obj, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_length(this.__wbg_ptr, obj, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return ret[0];
    }
    /**
     * @param {Uint8Array} data
     * @returns {number}
     */
    loadIncremental(data) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_loadIncremental(this.__wbg_ptr, data);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return ret[0];
    }
    /**
     * @param {any} obj
     * @param {any} range
     * @param {any} name
     * @param {any} value
     * @param {any} datatype
     */
    mark(obj, range, name, value, datatype) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_mark(this.__wbg_ptr, obj, range, name, value, datatype);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {any} obj
     * @param {any} heads
     * @returns {any}
     */
    marks(obj, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_marks(this.__wbg_ptr, obj, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {any} obj
     * @param {number} index
     * @param {any} heads
     * @returns {object}
     */
    marksAt(obj, index, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_marksAt(this.__wbg_ptr, obj, index, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {any} obj
     * @param {any} heads
     * @param {any} meta
     * @returns {any}
     */
    materialize(obj, heads, meta) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_materialize(this.__wbg_ptr, obj, heads, meta);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {Automerge} other
     * @returns {Heads}
     */
    merge(other) {
        _assertClass(other, Automerge);
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_merge(this.__wbg_ptr, other.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {string | null} [actor]
     * @returns {Automerge}
     */
    static new(actor) {
        var ptr0 = isLikeNone(actor) ? 0 : passStringToWasm0(actor, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        var len0 = WASM_VECTOR_LEN;
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_new(ptr0, len0);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return Automerge.__wrap(ret[0]);
    }
    /**
     * @param {any} obj
     * @param {any} heads
     * @returns {object}
     */
    objInfo(obj, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_objInfo(this.__wbg_ptr, obj, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @returns {number}
     */
    pendingOps() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_pendingOps(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {any} obj
     * @param {any} value
     * @param {any} datatype
     */
    push(obj, value, datatype) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_push(this.__wbg_ptr, obj, value, datatype);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {ObjID} obj
     * @param {ObjType} value
     * @returns {ObjID}
     */
    pushObject(obj, value) {
        let deferred2_0;
        let deferred2_1;
        try {
            let ret;
            __wbg_call_guard();
            try {
                ret = wasm.automerge_pushObject(this.__wbg_ptr, obj, value);
            } catch(e) {
                __wbg_handle_catch(e);
            }
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            __wbg_call_guard();
            try {
                wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
            } catch(e) {
                __wbg_handle_catch(e);
            }
        }
    }
    /**
     * @param {any} obj
     * @param {any} prop
     * @param {any} value
     * @param {any} datatype
     */
    put(obj, prop, value, datatype) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_put(this.__wbg_ptr, obj, prop, value, datatype);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {ObjID} obj
     * @param {Prop} prop
     * @param {ObjType} value
     * @returns {ObjID}
     */
    putObject(obj, prop, value) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_putObject(this.__wbg_ptr, obj, prop, value);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * Put a nested JavaScript value as a new object tree using batch insertion.
     * This is much faster than putObject for large nested objects.
     * For map keys this overwrites any existing value. For list indices this
     * overwrites the element at that index.
     * @param {ObjID} obj
     * @param {Prop} prop
     * @param {any} value
     * @returns {ObjID}
     */
    putObjectFromHydrate(obj, prop, value) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_putObjectFromHydrate(this.__wbg_ptr, obj, prop, value);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {SyncState} state
     * @param {SyncMessage} message
     */
    receiveSyncMessage(state, message) {
        _assertClass(state, SyncState);
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_receiveSyncMessage(this.__wbg_ptr, state.__wbg_ptr, message);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {string} datatype
     * @param {Function} construct
     * @param {(arg: any) => any | undefined} deconstruct
     */
    registerDatatype(datatype, construct, deconstruct) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_registerDatatype(this.__wbg_ptr, datatype, construct, deconstruct);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    resetDiffCursor() {
        __wbg_call_guard();
        try {
            wasm.automerge_resetDiffCursor(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
    }
    /**
     * @returns {number}
     */
    rollback() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_rollback(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @returns {Uint8Array}
     */
    save() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_save(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @returns {Uint8Array}
     */
    saveAndVerify() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_saveAndVerify(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {any} hashes
     * @returns {Uint8Array}
     */
    saveBundle(hashes) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_saveBundle(this.__wbg_ptr, hashes);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @returns {Uint8Array}
     */
    saveIncremental() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_saveIncremental(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @returns {Uint8Array}
     */
    saveNoCompress() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_saveNoCompress(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {Heads} heads
     * @returns {Uint8Array}
     */
    saveSince(heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_saveSince(this.__wbg_ptr, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {string | null} [author]
     */
    setAuthor(author) {
        var ptr0 = isLikeNone(author) ? 0 : passStringToWasm0(author, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        var len0 = WASM_VECTOR_LEN;
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_setAuthor(this.__wbg_ptr, ptr0, len0);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {any} obj
     * @param {any} heads
     * @returns {Array<any>}
     */
    spans(obj, heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_spans(this.__wbg_ptr, obj, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @param {any} obj
     * @param {number} start
     * @param {number} delete_count
     * @param {any} text
     */
    splice(obj, start, delete_count, text) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_splice(this.__wbg_ptr, obj, start, delete_count, text);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * Splice values into a list using batch insertion.
     * This is much faster than individual insert calls for multiple values.
     * @param {ObjID} obj
     * @param {number} index
     * @param {number} del
     * @param {any} values
     */
    spliceFromHydrate(obj, index, del, values) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_spliceFromHydrate(this.__wbg_ptr, obj, index, del, values);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {ObjID} obj
     * @param {number} index
     * @param {{[key: string]: MaterializeValue}} block
     */
    splitBlock(obj, index, block) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_splitBlock(this.__wbg_ptr, obj, index, block);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @returns {Stats}
     */
    stats() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_stats(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {any} obj
     * @param {any} heads
     * @returns {string}
     */
    text(obj, heads) {
        let deferred2_0;
        let deferred2_1;
        try {
            let ret;
            __wbg_call_guard();
            try {
                ret = wasm.automerge_text(this.__wbg_ptr, obj, heads);
            } catch(e) {
                __wbg_handle_catch(e);
            }
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            __wbg_call_guard();
            try {
                wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
            } catch(e) {
                __wbg_handle_catch(e);
            }
        }
    }
    /**
     * @param {any} meta
     * @returns {MaterializeValue}
     */
    toJS(meta) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_toJS(this.__wbg_ptr, meta);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * @returns {Hash[]}
     */
    topoHistoryTraversal() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_topoHistoryTraversal(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @param {ObjID} obj
     * @param {MarkRange} range
     * @param {string} name
     */
    unmark(obj, range, name) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_unmark(this.__wbg_ptr, obj, range, name);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {ObjID} obj
     * @param {number} index
     * @param {{[key: string]: MaterializeValue}} block
     */
    updateBlock(obj, index, block) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_updateBlock(this.__wbg_ptr, obj, index, block);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    updateDiffCursor() {
        __wbg_call_guard();
        try {
            wasm.automerge_updateDiffCursor(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
    }
    /**
     * @param {ObjID} obj
     * @param {Span[]} args
     * @param {UpdateSpansConfig | undefined | null} config
     */
    updateSpans(obj, args, config) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_updateSpans(this.__wbg_ptr, obj, args, config);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {ObjID} obj
     * @param {string} new_text
     */
    updateText(obj, new_text) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.automerge_updateText(this.__wbg_ptr, obj, new_text);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
}
if (Symbol.dispose) Automerge.prototype[Symbol.dispose] = Automerge.prototype.free;

export class SyncState {
    static __wrap(ptr) {
        const obj = Object.create(SyncState.prototype);
        obj.__wbg_ptr = ptr;
        SyncStateFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        SyncStateFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        __wbg_call_guard();
        try {
            wasm.__wbg_syncstate_free(ptr, 0);
        } catch(e) {
            __wbg_handle_catch(e);
        }

    }
    /**
     * @returns {SyncState}
     */
    clone() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.syncstate_clone(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return SyncState.__wrap(ret);
    }
    /**
     * @returns {Heads}
     */
    get lastSentHeads() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.syncstate_lastSentHeads(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
    /**
     * @returns {boolean}
     */
    get peerReadOnly() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.syncstate_peerReadOnly(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret !== 0;
    }
    /**
     * @returns {boolean}
     */
    get readOnly() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.syncstate_readOnly(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret !== 0;
    }
    /**
     * @param {Heads} heads
     */
    set lastSentHeads(heads) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.syncstate_set_lastSentHeads(this.__wbg_ptr, heads);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @param {boolean} read_only
     */
    set readOnly(read_only) {
        __wbg_call_guard();
        try {
            wasm.syncstate_set_readOnly(this.__wbg_ptr, read_only);
        } catch(e) {
            __wbg_handle_catch(e);
        }
    }
    /**
     * @param {Heads} hashes
     */
    set sentHashes(hashes) {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.syncstate_set_sentHashes(this.__wbg_ptr, hashes);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @returns {Heads}
     */
    get sharedHeads() {
        let ret;
        __wbg_call_guard();
        try {
            ret = wasm.syncstate_sharedHeads(this.__wbg_ptr);
        } catch(e) {
            __wbg_handle_catch(e);
        }
        return ret;
    }
}
if (Symbol.dispose) SyncState.prototype[Symbol.dispose] = SyncState.prototype.free;

/**
 * @param {any} options
 * @returns {Automerge}
 */
export function create(options) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.create(options);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return Automerge.__wrap(ret[0]);
}

/**
 * @param {Uint8Array} change
 * @returns {DecodedChange}
 */
export function decodeChange(change) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.decodeChange(change);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return takeFromExternrefTable0(ret[0]);
}

/**
 * @param {Uint8Array} msg
 * @returns {DecodedSyncMessage}
 */
export function decodeSyncMessage(msg) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.decodeSyncMessage(msg);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return takeFromExternrefTable0(ret[0]);
}

/**
 * @param {Uint8Array} data
 * @returns {SyncState}
 */
export function decodeSyncState(data) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.decodeSyncState(data);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return SyncState.__wrap(ret[0]);
}

/**
 * @param {any} change
 * @returns {Uint8Array}
 */
export function encodeChange(change) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.encodeChange(change);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return takeFromExternrefTable0(ret[0]);
}

/**
 * @param {any} message
 * @returns {SyncMessage}
 */
export function encodeSyncMessage(message) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.encodeSyncMessage(message);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return takeFromExternrefTable0(ret[0]);
}

/**
 * @param {SyncState} state
 * @returns {Uint8Array}
 */
export function encodeSyncState(state) {
    _assertClass(state, SyncState);
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.encodeSyncState(state.__wbg_ptr);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    return ret;
}

/**
 * @param {SyncState} state
 * @returns {JsSyncState}
 */
export function exportSyncState(state) {
    _assertClass(state, SyncState);
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.exportSyncState(state.__wbg_ptr);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    return ret;
}

/**
 * @param {any} state
 * @returns {SyncState}
 */
export function importSyncState(state) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.importSyncState(state);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return SyncState.__wrap(ret[0]);
}

/**
 * @returns {SyncState}
 */
export function initSyncState() {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.initSyncState();
    } catch(e) {
        __wbg_handle_catch(e);
    }
    return SyncState.__wrap(ret);
}

/**
 * @param {Uint8Array} data
 * @param {any} options
 * @returns {Automerge}
 */
export function load(data, options) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.load(data, options);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return Automerge.__wrap(ret[0]);
}

export function on_start() {
    __wbg_call_guard();
    try {
        wasm.on_start();
    } catch(e) {
        __wbg_handle_catch(e);
    }
}

/**
 * @param {Uint8Array} bundle
 * @returns {any}
 */
export function readBundle(bundle) {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.readBundle(bundle);
    } catch(e) {
        __wbg_handle_catch(e);
    }
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return takeFromExternrefTable0(ret[0]);
}

/**
 * @returns {WasmReleaseInfo}
 */
export function wasmReleaseInfo() {
    let ret;
    __wbg_call_guard();
    try {
        ret = wasm.wasmReleaseInfo();
    } catch(e) {
        __wbg_handle_catch(e);
    }
    return ret;
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_BigInt_54837260f97b6890: function() { return wrapError(function (arg0) {
            const ret = BigInt(arg0);
            return ret;
        }, arguments); },
        __wbg_Error_408e67f47ca7b58b: function() { return wrapError(function (arg0, arg1) {
            const ret = Error(getStringFromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_String_8564e559799eccda: function() { return wrapError(function (arg0, arg1) {
            const ret = String(arg1);
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32(arg0 + 4 * 1, len1, true);
            getDataViewMemory0().setInt32(arg0 + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg___wbindgen_boolean_get_c9c83ebd41b34df3: function() { return wrapError(function (arg0) {
            const v = arg0;
            const ret = typeof(v) === 'boolean' ? v : undefined;
            return isLikeNone(ret) ? 0xFFFFFF : ret ? 1 : 0;
        }, arguments); },
        __wbg___wbindgen_debug_string_a57024b9c6e4a48b: function() { return wrapError(function (arg0, arg1) {
            const ret = debugString(arg1);
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32(arg0 + 4 * 1, len1, true);
            getDataViewMemory0().setInt32(arg0 + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg___wbindgen_gt_868f0f71232d2823: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0 > arg1;
            return ret;
        }, arguments); },
        __wbg___wbindgen_is_bigint_8ffbbef442139384: function() { return wrapError(function (arg0) {
            const ret = typeof(arg0) === 'bigint';
            return ret;
        }, arguments); },
        __wbg___wbindgen_is_function_5e4570eb24ffa122: function() { return wrapError(function (arg0) {
            const ret = typeof(arg0) === 'function';
            return ret;
        }, arguments); },
        __wbg___wbindgen_is_null_7d13f41e1a2d5140: function() { return wrapError(function (arg0) {
            const ret = arg0 === null;
            return ret;
        }, arguments); },
        __wbg___wbindgen_is_object_a2790eb24c211ea0: function() { return wrapError(function (arg0) {
            const val = arg0;
            const ret = typeof(val) === 'object' && val !== null;
            return ret;
        }, arguments); },
        __wbg___wbindgen_is_string_e6f02f0ea5f20a32: function() { return wrapError(function (arg0) {
            const ret = typeof(arg0) === 'string';
            return ret;
        }, arguments); },
        __wbg___wbindgen_is_undefined_6cff064c44e0d823: function() { return wrapError(function (arg0) {
            const ret = arg0 === undefined;
            return ret;
        }, arguments); },
        __wbg___wbindgen_jsval_loose_eq_acf2776254a8d832: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0 == arg1;
            return ret;
        }, arguments); },
        __wbg___wbindgen_lt_94fbb50645571f95: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0 < arg1;
            return ret;
        }, arguments); },
        __wbg___wbindgen_neg_8a39375bffed95b1: function() { return wrapError(function (arg0) {
            const ret = -arg0;
            return ret;
        }, arguments); },
        __wbg___wbindgen_number_get_136b9679cab35cfb: function() { return wrapError(function (arg0, arg1) {
            const obj = arg1;
            const ret = typeof(obj) === 'number' ? obj : undefined;
            getDataViewMemory0().setFloat64(arg0 + 8 * 1, isLikeNone(ret) ? 0 : ret, true);
            getDataViewMemory0().setInt32(arg0 + 4 * 0, !isLikeNone(ret), true);
        }, arguments); },
        __wbg___wbindgen_panic_error_f153dd2564290663: function() { return wrapError(function (arg0) {
            const ret = new PanicError(arg0);
            return ret;
        }, arguments); },
        __wbg___wbindgen_rethrow_fbd2dcd7d2b9ac5f: function() { return wrapError(function (arg0) {
            throw new WebAssembly.Exception(__wbindgen_wrapped_jstag, [arg0]);
        }, arguments); },
        __wbg___wbindgen_string_get_d154f1e671052120: function() { return wrapError(function (arg0, arg1) {
            const obj = arg1;
            const ret = typeof(obj) === 'string' ? obj : undefined;
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32(arg0 + 4 * 1, len1, true);
            getDataViewMemory0().setInt32(arg0 + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg___wbindgen_throw_bb96b2010945f0bc: function() { return wrapError(function (arg0, arg1) {
            throw new WebAssembly.Exception(__wbindgen_wrapped_jstag, [new Error(getStringFromWasm0(arg0, arg1))]);
        }, arguments); },
        __wbg_apply_6cd9daeacef161ce: function() { return wrapError(function (arg0, arg1, arg2) {
            const ret = Reflect.apply(arg0, arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_assign_c045318ddcb8e589: function() { return wrapError(function (arg0, arg1) {
            const ret = Object.assign(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_call_1c5886ab9c57d1c7: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0.call(arg1);
            return ret;
        }, arguments); },
        __wbg_call_35dba3c747ad7521: function() { return wrapError(function (arg0, arg1, arg2) {
            const ret = arg0.call(arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_concat_04d1925f263794a3: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0.concat(arg1);
            return ret;
        }, arguments); },
        __wbg_defineProperty_c42c661b4dea36ef: function() { return wrapError(function (arg0, arg1, arg2) {
            const ret = Object.defineProperty(arg0, arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_deleteProperty_83dd9487ca70fb9c: function() { return wrapError(function (arg0, arg1) {
            const ret = Reflect.deleteProperty(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_done_669171204c3dcae2: function() { return wrapError(function (arg0) {
            const ret = arg0.done;
            return ret;
        }, arguments); },
        __wbg_entries_7774d489e1da5f4f: function() { return wrapError(function (arg0) {
            const ret = Object.entries(arg0);
            return ret;
        }, arguments); },
        __wbg_error_dd408a7b3cb542dd: function() { return wrapError(function (arg0) {
            console.error(arg0);
        }, arguments); },
        __wbg_for_6cd11b27e33e4d0b: function() { return wrapError(function (arg0, arg1) {
            const ret = Symbol.for(getStringFromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_freeze_d9b124941005e4ee: function() { return wrapError(function (arg0) {
            const ret = Object.freeze(arg0);
            return ret;
        }, arguments); },
        __wbg_from_74f3d90e0ff11240: function() { return wrapError(function (arg0) {
            const ret = Array.from(arg0);
            return ret;
        }, arguments); },
        __wbg_getRandomValues_436a51d0629d84e1: function() { return wrapError(function (arg0, arg1) {
            globalThis.crypto.getRandomValues(getArrayU8FromWasm0(arg0, arg1));
        }, arguments); },
        __wbg_getTime_63fb0332e6c4ec17: function() { return wrapError(function (arg0) {
            const ret = arg0.getTime();
            return ret;
        }, arguments); },
        __wbg_get_971a0c45d172643f: function() { return wrapError(function (arg0, arg1) {
            const ret = Reflect.get(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_get_c0c8f8d7da0c03dd: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0[arg1 >>> 0];
            return ret;
        }, arguments); },
        __wbg_get_d173c0308df22d37: function() { return wrapError(function (arg0, arg1) {
            const ret = Reflect.get(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_get_unchecked_e20b893aeafc3fca: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0[arg1 >>> 0];
            return ret;
        }, arguments); },
        __wbg_instanceof_ArrayBuffer_993d02d2d254cad1: function() { return wrapError(function (arg0) {
            let result;
            try {
                result = arg0 instanceof ArrayBuffer;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        }, arguments); },
        __wbg_instanceof_Date_2eec0d9b810f663e: function() { return wrapError(function (arg0) {
            let result;
            try {
                result = arg0 instanceof Date;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        }, arguments); },
        __wbg_instanceof_Object_80ad464782e2bd73: function() { return wrapError(function (arg0) {
            let result;
            try {
                result = arg0 instanceof Object;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        }, arguments); },
        __wbg_instanceof_Uint8Array_f935dbb0aa7cdeed: function() { return wrapError(function (arg0) {
            let result;
            try {
                result = arg0 instanceof Uint8Array;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        }, arguments); },
        __wbg_isArray_291e8fbbc73f8b2e: function() { return wrapError(function (arg0) {
            const ret = Array.isArray(arg0);
            return ret;
        }, arguments); },
        __wbg_isArray_6339f732981044bf: function() { return wrapError(function (arg0) {
            const ret = Array.isArray(arg0);
            return ret;
        }, arguments); },
        __wbg_iterator_5cebbb86e33c6dd6: function() { return wrapError(function () {
            const ret = Symbol.iterator;
            return ret;
        }, arguments); },
        __wbg_keys_ec7f8c0c2370d91d: function() { return wrapError(function (arg0) {
            const ret = Object.keys(arg0);
            return ret;
        }, arguments); },
        __wbg_length_36bd29c6848c2144: function() { return wrapError(function (arg0) {
            const ret = arg0.length;
            return ret;
        }, arguments); },
        __wbg_length_7afd83ae4ddf324f: function() { return wrapError(function (arg0) {
            const ret = arg0.length;
            return ret;
        }, arguments); },
        __wbg_length_ecfa2c63d3d0d82c: function() { return wrapError(function (arg0) {
            const ret = arg0.length;
            return ret;
        }, arguments); },
        __wbg_log_d4cf733eb3697879: function() { return wrapError(function (arg0, arg1) {
            console.log(arg0, arg1);
        }, arguments); },
        __wbg_log_e6372b4fbfc9f81e: function() { return wrapError(function (arg0) {
            console.log(arg0);
        }, arguments); },
        __wbg_new_116be93542d39019: function() { return wrapError(function () {
            const ret = new Array();
            return ret;
        }, arguments); },
        __wbg_new_19e1be967b5131c8: function() { return wrapError(function (arg0, arg1) {
            const ret = new RangeError(getStringFromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_new_358857d90afd5a2d: function() { return wrapError(function (arg0, arg1) {
            const ret = new Error(getStringFromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_new_77cc4f4f472aeb81: function() { return wrapError(function (arg0) {
            const ret = new Uint8Array(arg0);
            return ret;
        }, arguments); },
        __wbg_new_ebe3e0f6837f0879: function() { return wrapError(function () {
            const ret = new Object();
            return ret;
        }, arguments); },
        __wbg_new_f9d6489212f3b2b3: function() { return wrapError(function (arg0) {
            const ret = new Date(arg0);
            return ret;
        }, arguments); },
        __wbg_new_from_slice_3eea173078478cfe: function() { return wrapError(function (arg0, arg1) {
            const ret = new Uint8Array(getArrayU8FromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_next_42cf16ee0dafc9e2: function() { return wrapError(function (arg0) {
            const ret = arg0.next();
            return ret;
        }, arguments); },
        __wbg_next_8f26b64fa5e9f64b: function() { return wrapError(function (arg0) {
            const ret = arg0.next;
            return ret;
        }, arguments); },
        __wbg_of_598c0ff0cd48a890: function() { return wrapError(function (arg0, arg1) {
            const ret = Array.of(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_ownKeys_49880e0197268893: function() { return wrapError(function (arg0) {
            const ret = Reflect.ownKeys(arg0);
            return ret;
        }, arguments); },
        __wbg_prototypesetcall_de8e0d9553586985: function() { return wrapError(function (arg0, arg1, arg2) {
            Uint8Array.prototype.set.call(getArrayU8FromWasm0(arg0, arg1), arg2);
        }, arguments); },
        __wbg_push_adb0107829f02d75: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0.push(arg1);
            return ret;
        }, arguments); },
        __wbg_set_6be42768c690e380: function() { return wrapError(function (arg0, arg1, arg2) {
            arg0[arg1] = arg2;
        }, arguments); },
        __wbg_set_8155bb79a948541b: function() { return wrapError(function (arg0, arg1, arg2) {
            const ret = Reflect.set(arg0, arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_set_a80955eb93b145c6: function() { return wrapError(function (arg0, arg1, arg2) {
            arg0[arg1 >>> 0] = arg2;
        }, arguments); },
        __wbg_slice_cc0f63edb5397a2d: function() { return wrapError(function (arg0, arg1, arg2) {
            const ret = arg0.slice(arg1 >>> 0, arg2 >>> 0);
            return ret;
        }, arguments); },
        __wbg_stringify_89c7a3465aaa2993: function() { return wrapError(function (arg0, arg1) {
            const ret = JSON.stringify(arg1);
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32(arg0 + 4 * 1, len1, true);
            getDataViewMemory0().setInt32(arg0 + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_toString_76752bc853683831: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0.toString(arg1);
            return ret;
        }, arguments); },
        __wbg_toString_b8786143710918ff: function() { return wrapError(function (arg0) {
            const ret = arg0.toString();
            return ret;
        }, arguments); },
        __wbg_toString_effe882d0e9af91c: function() { return wrapError(function (arg0, arg1, arg2) {
            const ret = arg1.toString(arg2);
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32(arg0 + 4 * 1, len1, true);
            getDataViewMemory0().setInt32(arg0 + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_unshift_287d5a5171649b5a: function() { return wrapError(function (arg0, arg1) {
            const ret = arg0.unshift(arg1);
            return ret;
        }, arguments); },
        __wbg_value_1e2369fab29b420e: function() { return wrapError(function (arg0) {
            const ret = arg0.value;
            return ret;
        }, arguments); },
        __wbg_values_bbaf1bcbcd5d1deb: function() { return wrapError(function (arg0) {
            const ret = Object.values(arg0);
            return ret;
        }, arguments); },
        __wbindgen_cast_0000000000000001: function() { return wrapError(function (arg0) {
            // Cast intrinsic for `F64 -> Externref`.
            const ret = arg0;
            return ret;
        }, arguments); },
        __wbindgen_cast_0000000000000002: function() { return wrapError(function (arg0) {
            // Cast intrinsic for `I64 -> Externref`.
            const ret = arg0;
            return ret;
        }, arguments); },
        __wbindgen_cast_0000000000000003: function() { return wrapError(function (arg0, arg1) {
            // Cast intrinsic for `Ref(String) -> Externref`.
            const ret = getStringFromWasm0(arg0, arg1);
            return ret;
        }, arguments); },
        __wbindgen_cast_0000000000000004: function() { return wrapError(function (arg0) {
            // Cast intrinsic for `U64 -> Externref`.
            const ret = BigInt.asUintN(64, arg0);
            return ret;
        }, arguments); },
        __wbindgen_init_externref_table: function() { return wrapError(function () {
            const table = wasm.__wbindgen_externrefs;
            const offset = table.grow(4);
            table.set(0, undefined);
            table.set(offset + 0, undefined);
            table.set(offset + 1, null);
            table.set(offset + 2, true);
            table.set(offset + 3, false);
        }, arguments); },
        __wbindgen_jstag: __wbindgen_jstag_polyfill,
        __wbindgen_wrapped_jstag: __wbindgen_wrapped_jstag,
    };
    return {
        __proto__: null,
        "./automerge_wasm_bg.js": import0,
    };
}

const __wbindgen_jstag_polyfill = new WebAssembly.Tag({ parameters: ['externref'] });


const __wbindgen_wrapped_jstag = new WebAssembly.Tag({ parameters: ['externref'] });


let __wbg_terminated_addr;
let __wbg_called_abort = false;
function __wbg_call_abort_hook() {
    __wbg_called_abort = true;
    try {
        const idx = getInt32ArrayMemory0()[wasm.__abort_handler.value / 4];
        if (idx) wasm.__wbindgen_export.get(idx)();
    } catch(_) {}
}

function __wbg_handle_catch(e) {
    if (e instanceof WebAssembly.Exception && e.is(__wbindgen_wrapped_jstag)) {
        throw e.getArg(__wbindgen_wrapped_jstag, 0);
    }
    getInt32ArrayMemory0()[__wbg_terminated_addr] = 1;
    __wbg_call_abort_hook();
    throw e;
}


function __wbg_call_guard() {
    __wbg_terminated_addr ??= wasm.__instance_terminated.value / 4;
    const flag = getInt32ArrayMemory0()[__wbg_terminated_addr];
    if (flag) {
        if (!__wbg_called_abort) {
            __wbg_call_abort_hook();
        }throw new Error('Module terminated');
    }
}
const AutomergeFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_automerge_free(ptr, 1));
const SyncStateFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_syncstate_free(ptr, 1));

function _assertClass(instance, klass) {
    if (!(instance instanceof klass)) {
        throw new Error(`expected instance of ${klass.name}`);
    }
}

function debugString(val) {
    // primitive types
    const type = typeof val;
    if (type == 'number' || type == 'boolean' || val == null) {
        return  `${val}`;
    }
    if (type == 'string') {
        return `"${val}"`;
    }
    if (type == 'symbol') {
        const description = val.description;
        if (description == null) {
            return 'Symbol';
        } else {
            return `Symbol(${description})`;
        }
    }
    if (type == 'function') {
        const name = val.name;
        if (typeof name == 'string' && name.length > 0) {
            return `Function(${name})`;
        } else {
            return 'Function';
        }
    }
    // objects
    if (Array.isArray(val)) {
        const length = val.length;
        let debug = '[';
        if (length > 0) {
            debug += debugString(val[0]);
        }
        for(let i = 1; i < length; i++) {
            debug += ', ' + debugString(val[i]);
        }
        debug += ']';
        return debug;
    }
    // Test for built-in
    const builtInMatches = /\[object ([^\]]+)\]/.exec(toString.call(val));
    let className;
    if (builtInMatches && builtInMatches.length > 1) {
        className = builtInMatches[1];
    } else {
        // Failed to match the standard '[object ClassName]'
        return toString.call(val);
    }
    if (className == 'Object') {
        // we're a user defined class or Object
        // JSON.stringify avoids problems with cycles, and is generally much
        // easier than looping through ownProperties of `val`.
        try {
            return 'Object(' + JSON.stringify(val) + ')';
        } catch (_) {
            return 'Object';
        }
    }
    // errors
    if (val instanceof Error) {
        return `${val.name}: ${val.message}\n${val.stack}`;
    }
    // TODO we could test for more things here, like `Set`s and `Map`s.
    return className;
}

function getArrayU8FromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
}

let cachedDataViewMemory0 = null;
function getDataViewMemory0() {
    if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)) {
        cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
    }
    return cachedDataViewMemory0;
}

let cachedInt32ArrayMemory0 = null;
function getInt32ArrayMemory0() {
    if (cachedInt32ArrayMemory0 === null || cachedInt32ArrayMemory0.byteLength === 0) {
        cachedInt32ArrayMemory0 = new Int32Array(wasm.memory.buffer);
    }
    return cachedInt32ArrayMemory0;
}

function getStringFromWasm0(ptr, len) {
    return decodeText(ptr >>> 0, len);
}

let cachedUint8ArrayMemory0 = null;
function getUint8ArrayMemory0() {
    if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0) {
        cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
    }
    return cachedUint8ArrayMemory0;
}

function isLikeNone(x) {
    return x === undefined || x === null;
}

class PanicError extends Error {}
Object.defineProperty(PanicError.prototype, 'name', {
    value: 'PanicError',
});

function passStringToWasm0(arg, malloc, realloc) {
    if (realloc === undefined) {
        const buf = cachedTextEncoder.encode(arg);
        const ptr = malloc(buf.length, 1) >>> 0;
        getUint8ArrayMemory0().subarray(ptr, ptr + buf.length).set(buf);
        WASM_VECTOR_LEN = buf.length;
        return ptr;
    }

    let len = arg.length;
    let ptr = malloc(len, 1) >>> 0;

    const mem = getUint8ArrayMemory0();

    let offset = 0;

    for (; offset < len; offset++) {
        const code = arg.charCodeAt(offset);
        if (code > 0x7F) break;
        mem[ptr + offset] = code;
    }
    if (offset !== len) {
        if (offset !== 0) {
            arg = arg.slice(offset);
        }
        ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
        const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
        const ret = cachedTextEncoder.encodeInto(arg, view);

        offset += ret.written;
        ptr = realloc(ptr, len, offset, 1) >>> 0;
    }

    WASM_VECTOR_LEN = offset;
    return ptr;
}

function takeFromExternrefTable0(idx) {
    const value = wasm.__wbindgen_externrefs.get(idx);
    wasm.__externref_table_dealloc(idx);
    return value;
}

let cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
cachedTextDecoder.decode();
const MAX_SAFARI_DECODE_BYTES = 2146435072;
let numBytesDecoded = 0;
function decodeText(ptr, len) {
    numBytesDecoded += len;
    if (numBytesDecoded >= MAX_SAFARI_DECODE_BYTES) {
        cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
        cachedTextDecoder.decode();
        numBytesDecoded = len;
    }
    return cachedTextDecoder.decode(getUint8ArrayMemory0().subarray(ptr, ptr + len));
}

const cachedTextEncoder = new TextEncoder();

if (!('encodeInto' in cachedTextEncoder)) {
    cachedTextEncoder.encodeInto = function (arg, view) {
        const buf = cachedTextEncoder.encode(arg);
        view.set(buf);
        return {
            read: arg.length,
            written: buf.length
        };
    };
}

let WASM_VECTOR_LEN = 0;

function wrapError(f, args) {
    try {
        return f.apply(this, args);
    } catch (e) {
        if (e instanceof WebAssembly.Exception) throw e;
        throw new WebAssembly.Exception(__wbindgen_jstag_polyfill, [e], { traceStack: true });
    }
}

let wasmModule, wasmInstance, wasm;
function __wbg_finalize_init(instance, module) {
    wasmInstance = instance;
    wasm = instance.exports;
    wasmModule = module;
    cachedDataViewMemory0 = null;
    cachedInt32ArrayMemory0 = null;
    cachedUint8ArrayMemory0 = null;
    wasm.__wbindgen_start();
    return wasm;
}

async function __wbg_load(module, imports) {
    if (typeof Response === 'function' && module instanceof Response) {
        if (!module.ok) {
            throw new Error(`failed to fetch Wasm: ${module.status} ${module.statusText} fetching '${module.url}'`);
        }

        if (typeof WebAssembly.instantiateStreaming === 'function') {
            try {
                return await WebAssembly.instantiateStreaming(module, imports);
            } catch (e) {
                const validResponse = expectedResponseType(module.type);

                if (validResponse && module.headers.get('Content-Type') !== 'application/wasm') {
                    console.warn("`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:\n", e);

                } else { throw e; }
            }
        }

        const bytes = await module.arrayBuffer();
        return await WebAssembly.instantiate(bytes, imports);
    } else {
        const instance = await WebAssembly.instantiate(module, imports);

        if (instance instanceof WebAssembly.Instance) {
            return { instance, module };
        } else {
            return instance;
        }
    }

    function expectedResponseType(type) {
        switch (type) {
            case 'basic': case 'cors': case 'default': return true;
        }
        return false;
    }
}

function initSync(module) {
    if (wasm !== undefined) return wasm;


    if (module !== undefined) {
        if (Object.getPrototypeOf(module) === Object.prototype) {
            ({module} = module)
        } else {
            console.warn('using deprecated parameters for `initSync()`; pass a single object instead')
        }
    }

    const imports = __wbg_get_imports();
    if (!(module instanceof WebAssembly.Module)) {
        module = new WebAssembly.Module(module);
    }
    const instance = new WebAssembly.Instance(module, imports);
    return __wbg_finalize_init(instance, module);
}

async function __wbg_init(module_or_path) {
    if (wasm !== undefined) return wasm;


    if (module_or_path !== undefined) {
        if (Object.getPrototypeOf(module_or_path) === Object.prototype) {
            ({module_or_path} = module_or_path)
        } else {
            console.warn('using deprecated parameters for the initialization function; pass a single object instead')
        }
    }

    if (module_or_path === undefined) {
        module_or_path = new /* @vite-ignore */ URL('automerge_wasm_bg.wasm', import.meta.url);
    }
    const imports = __wbg_get_imports();

    if (typeof module_or_path === 'string' || (typeof Request === 'function' && module_or_path instanceof Request) || (typeof URL === 'function' && module_or_path instanceof URL)) {
        module_or_path = fetch(module_or_path);
    }

    const { instance, module } = await __wbg_load(await module_or_path, imports);

    return __wbg_finalize_init(instance, module);
}

export { initSync, __wbg_init as default };
