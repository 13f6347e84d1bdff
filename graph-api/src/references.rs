//! Builders of *referenced* navigations: navigations whose targets live elsewhere in the
//! directory (`memberOf`, `members`, `owners`, `directReports`, `manager`, ...), as opposed to
//! contained ones (a user's `messages`), which have full create/read/update/delete builders.
//!
//! Graph allows reading through a referenced navigation, and, where the metadata marks it
//! referenceable, adding and removing *references* (`$ref`), never creating, updating or
//! deleting the target through it. These builders allow exactly that, decided at compile
//! time by two type parameters:
//!
//! - the access marker: [`ReadOnly`] (`memberOf`, `directReports`), [`Linked`] (`members`,
//!   `owners`: `add_ref`, `remove_ref`), [`Creatable`] / [`LinkedCreatable`] (also `create`), or
//!   [`CastView`] (an OData cast: list and count only);
//! - the cast set: [`NoCasts`], or a generated marker whose methods are the casts that can
//!   occur there (for `memberOf`: `groups()`, `administrative_units()`, `directory_roles()`).
//!
//! ```no_run
//! # async fn demo(client: msgraph_typed::GraphClient) -> msgraph_typed::Result<()> {
//! // GET /me/memberOf/microsoft.graph.group
//! let groups = client.me().member_of().groups().list().send().await?;
//! // POST /groups/{id}/members/$ref
//! client.groups().by_id("group-id").members().add_ref("user-id").send().await?;
//! // DELETE /groups/{id}/members/{member}/$ref
//! client.groups().by_id("group-id").members().by_id("user-id").remove_ref().send().await?;
//! // PUT /users/{id}/manager/$ref
//! client.users().by_id("user-id").manager().set_ref("manager-id").send().await?;
//! # let _ = groups; Ok(()) }
//! ```

use std::fmt;
use std::marker::PhantomData;

use http::Method;
use msgraph_typed_core::{
    Client, CollectionRequest, CountRequest, EntityRequest, NoContent, Request, path,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An entity type a referenced navigation can point to (implemented by the generated models).
pub trait RefTarget: 'static {
    /// What reading one answers (the `AnyX` enum of a type with derived types).
    type Read: DeserializeOwned + Send + 'static;
    /// The body that creates one (where a navigation allows it).
    type Write: Serialize;
}

/// A [`RefTarget`] with a canonical address, so a reference can be given by id: `@odata.id`
/// becomes `{base URL}{ADDRESS}/{id}` (for directory objects, `directoryObjects/{id}`).
pub trait RefAddress: RefTarget {
    /// The path, under the base URL, of the collection that addresses any entity of this type
    /// by id.
    const ADDRESS: &'static str;
}

mod sealed {
    pub trait Access {}
}

/// What a referenced collection allows (see the markers).
pub trait Access: sealed::Access + 'static {}

/// Read only: list, count, read a member (`memberOf`, `transitiveMemberOf`, `directReports`).
#[derive(Debug, Clone, Copy)]
pub enum ReadOnly {}
/// References can be added and removed (`$ref`), and members are addressed only to remove
/// them (`members`, `owners`, `registeredOwners`).
#[derive(Debug, Clone, Copy)]
pub enum Linked {}
/// Read only, and new members can be created through the navigation.
#[derive(Debug, Clone, Copy)]
pub enum Creatable {}
/// References can be added and removed, and members created through the navigation
/// (`administrativeUnits/{id}/members`).
#[derive(Debug, Clone, Copy)]
pub enum LinkedCreatable {}
/// An OData cast of a referenced collection (`.../memberOf/microsoft.graph.group`): list and
/// count only.
#[derive(Debug, Clone, Copy)]
pub enum CastView {}

impl sealed::Access for ReadOnly {}
impl sealed::Access for Linked {}
impl sealed::Access for Creatable {}
impl sealed::Access for LinkedCreatable {}
impl sealed::Access for CastView {}
impl Access for ReadOnly {}
impl Access for Linked {}
impl Access for Creatable {}
impl Access for LinkedCreatable {}
impl Access for CastView {}

/// Access markers whose members can be addressed by id.
pub trait Indexed: Access {}
impl Indexed for ReadOnly {}
impl Indexed for Linked {}
impl Indexed for Creatable {}
impl Indexed for LinkedCreatable {}

/// Access markers whose members can be read one by one (`GET .../{id}`).
pub trait Readable: Access {}
impl Readable for ReadOnly {}
impl Readable for Creatable {}

/// Access markers that allow adding and removing references.
pub trait CanLink: Access {}
impl CanLink for Linked {}
impl CanLink for LinkedCreatable {}

/// Access markers that allow creating members through the navigation.
pub trait CanCreate: Access {}
impl CanCreate for Creatable {}
impl CanCreate for LinkedCreatable {}

/// The cast set of a navigation without casts.
#[derive(Debug, Clone, Copy)]
pub enum NoCasts {}

/// The type parameters of a builder, carried without owning anything (so the builders are
/// `Send + Sync` whatever the markers are).
type Markers<T, A, C> = PhantomData<fn() -> (T, A, C)>;

/// The `{"@odata.id": ...}` body of a reference.
#[derive(Serialize)]
struct ReferenceBody {
    #[serde(rename = "@odata.id")]
    odata_id: String,
}

fn reference_to<T: RefAddress>(client: &Client, id_or_url: &str) -> ReferenceBody {
    let odata_id = if id_or_url.starts_with("https://") || id_or_url.starts_with("http://") {
        id_or_url.to_owned()
    } else {
        format!(
            "{}{}/{}",
            client.base_url(),
            T::ADDRESS,
            path::encode_segment(id_or_url)
        )
    };
    ReferenceBody { odata_id }
}

macro_rules! builder_basics {
    ($name:ident) => {
        /// A builder for `path` (relative to the client's base URL, percent-encoded, no
        /// leading slash). Generated navigation methods call this.
        pub fn new(client: Client, path: impl Into<String>) -> Self {
            $name {
                client,
                path: path.into(),
                _marker: PhantomData,
            }
        }

        /// The path this builder addresses, relative to the base URL.
        pub fn path(&self) -> &str {
            &self.path
        }

        /// The client requests are sent with.
        pub fn client(&self) -> &Client {
            &self.client
        }
    };
}

/// A referenced collection (`/groups/{id}/members`, `/me/memberOf`, ...).
#[must_use = "a builder does nothing until a request is sent"]
pub struct ReferenceCollection<T, A = ReadOnly, C = NoCasts> {
    client: Client,
    path: String,
    _marker: Markers<T, A, C>,
}

impl<T, A, C> Clone for ReferenceCollection<T, A, C> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            path: self.path.clone(),
            _marker: PhantomData,
        }
    }
}

impl<T, A, C> fmt::Debug for ReferenceCollection<T, A, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferenceCollection")
            .field("path", &self.path)
            .finish()
    }
}

impl<T: RefTarget, A: Access, C> ReferenceCollection<T, A, C> {
    builder_basics!(ReferenceCollection);

    /// Lists the targets (`GET`): `send()` for one page, `pages()` or `stream()` for all.
    pub fn list(&self) -> CollectionRequest<T::Read> {
        self.client.collection(self.path.clone())
    }

    /// Counts the targets (`GET .../$count`, sent with `ConsistencyLevel: eventual`).
    pub fn count(&self) -> CountRequest {
        self.client.count(self.path.clone())
    }
}

impl<T: RefTarget, A: Indexed, C> ReferenceCollection<T, A, C> {
    /// Addresses one target by its id (percent-encoded here): to read it, or to remove the
    /// reference, as the navigation allows.
    pub fn by_id(&self, id: impl AsRef<str>) -> ReferenceMember<T, A, C> {
        ReferenceMember::new(
            self.client.clone(),
            format!("{}/{}", self.path, path::encode_segment(id.as_ref())),
        )
    }
}

impl<T: RefAddress, A: CanLink, C> ReferenceCollection<T, A, C> {
    /// Adds a reference (`POST .../$ref` with `{"@odata.id": ...}`): `id_or_url` is the target's
    /// id, or its full URL. Answers 204.
    pub fn add_ref(&self, id_or_url: impl AsRef<str>) -> Request<NoContent> {
        let body = reference_to::<T>(&self.client, id_or_url.as_ref());
        self.client
            .request(Method::POST, format!("{}/$ref", self.path))
            .json_body(&body)
    }
}

impl<T: RefTarget, A: CanCreate, C> ReferenceCollection<T, A, C> {
    /// Creates a target through the navigation (`POST`) and returns it as the service stored it.
    pub fn create(&self, body: &T::Write) -> Request<T::Read> {
        self.client
            .request(Method::POST, self.path.clone())
            .json_body(body)
    }
}

/// One target of a referenced collection (`/groups/{id}/members/{member}`).
#[must_use = "a builder does nothing until a request is sent"]
pub struct ReferenceMember<T, A = ReadOnly, C = NoCasts> {
    client: Client,
    path: String,
    _marker: Markers<T, A, C>,
}

impl<T, A, C> Clone for ReferenceMember<T, A, C> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            path: self.path.clone(),
            _marker: PhantomData,
        }
    }
}

impl<T, A, C> fmt::Debug for ReferenceMember<T, A, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferenceMember")
            .field("path", &self.path)
            .finish()
    }
}

impl<T: RefTarget, A: Access, C> ReferenceMember<T, A, C> {
    builder_basics!(ReferenceMember);
}

impl<T: RefTarget, A: Readable, C> ReferenceMember<T, A, C> {
    /// Reads the target (`GET`).
    pub fn get(&self) -> EntityRequest<T::Read> {
        self.client.entity(self.path.clone())
    }
}

impl<T: RefTarget, A: CanLink, C> ReferenceMember<T, A, C> {
    /// Removes the reference (`DELETE .../{id}/$ref`); the target itself stays. Answers 204.
    pub fn remove_ref(&self) -> Request<NoContent> {
        self.client
            .request(Method::DELETE, format!("{}/$ref", self.path))
    }
}

/// A referenced single-valued navigation (`/users/{id}/manager`), or a cast of one member.
#[must_use = "a builder does nothing until a request is sent"]
pub struct ReferenceSingle<T, A = ReadOnly> {
    pub(crate) client: Client,
    pub(crate) path: String,
    _marker: PhantomData<fn() -> (T, A)>,
}

impl<T, A> Clone for ReferenceSingle<T, A> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            path: self.path.clone(),
            _marker: PhantomData,
        }
    }
}

impl<T, A> fmt::Debug for ReferenceSingle<T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferenceSingle")
            .field("path", &self.path)
            .finish()
    }
}

impl<T: RefTarget, A: Access> ReferenceSingle<T, A> {
    builder_basics!(ReferenceSingle);

    /// Reads the target (`GET`).
    pub fn get(&self) -> EntityRequest<T::Read> {
        self.client.entity(self.path.clone())
    }
}

impl<T: RefAddress, A: CanLink> ReferenceSingle<T, A> {
    /// Sets the reference (`PUT .../$ref` with `{"@odata.id": ...}`): `id_or_url` is the
    /// target's id, or its full URL. Answers 204.
    pub fn set_ref(&self, id_or_url: impl AsRef<str>) -> Request<NoContent> {
        let body = reference_to::<T>(&self.client, id_or_url.as_ref());
        self.client
            .request(Method::PUT, format!("{}/$ref", self.path))
            .json_body(&body)
    }
}

impl<T: RefTarget, A: CanLink> ReferenceSingle<T, A> {
    /// Removes the reference (`DELETE .../$ref`); the target itself stays. Answers 204.
    pub fn remove_ref(&self) -> Request<NoContent> {
        self.client
            .request(Method::DELETE, format!("{}/$ref", self.path))
    }
}
